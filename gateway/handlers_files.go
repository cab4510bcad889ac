package gateway

import (
	"context"
	"encoding/json"

	"github.com/samagate/samagate/files"
	"github.com/samagate/samagate/protocol"
)

// Files is what the gateway needs of the files service: upload URLs for
// declared files, download URLs for readable ones.
type Files interface {
	Create(ctx context.Context, orgID, userID string, decl []files.Declared) ([]files.Created, error)
	URLs(ctx context.Context, orgID, userID string, ids []string) (map[string]string, error)
}

// handleCreateFiles records the files the caller is about to upload.
// params is a bare array (SAMA's shape). -> {"files":[{..,upload_url}]}
func (g *Gateway) handleCreateFiles(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	decl, err := files.ParseCreate(c.req.Params)
	if err != nil {
		return nil, err
	}
	out, err := g.cfg.Files.Create(ctx, c.p.OrgID, c.p.UserID, decl)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("files", out))
}

// handleGetFileURLs returns download URLs of the files the caller may read;
// the others are left out. -> {"file_urls":{"<id>":"<url>"}}
func (g *Gateway) handleGetFileURLs(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	var prm struct {
		FileIDs json.RawMessage `json:"file_ids"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	var ids []string
	if err := json.Unmarshal(prm.FileIDs, &ids); err != nil || len(ids) == 0 {
		if n := countArray(prm.FileIDs); n > files.MaxFiles {
			return nil, protocol.ErrFileIDsExceeded
		}
		return nil, protocol.ErrFileIDsMissed
	}
	urls, err := g.cfg.Files.URLs(ctx, c.p.OrgID, c.p.UserID, ids)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("file_urls", urls))
}

// countArray is the length of a JSON array of anything, 0 when raw is not one.
func countArray(raw json.RawMessage) int {
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return 0
	}
	return len(a)
}

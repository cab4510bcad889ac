package gateway

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// maxIDs is SAMA's limit on id lists (get_users_by_ids, user_search
// ignore_ids): longer lists are a 422.
const maxIDs = auth.MaxListIDs

// handleUserEdit updates the caller's profile or password; a wrong
// current_password counts against the account and the client address like a
// wrong login. -> {"user":{..}}
func (g *Gateway) handleUserEdit(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		CurrentPassword *string              `json:"current_password"`
		NewPassword     *string              `json:"new_password"`
		Email           *string              `json:"email"`
		Phone           *protocol.FlexString `json:"phone"`
		Login           *string              `json:"login"`
		FirstName       *string              `json:"first_name"`
		LastName        *string              `json:"last_name"`
		AvatarObject    json.RawMessage      `json:"avatar_object"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	var phone *string
	if prm.Phone != nil {
		v := string(*prm.Phone)
		phone = &v
	}
	u, err := g.accounts.EditUser(ctx, *c.p, auth.UserEdit{
		CurrentPassword: prm.CurrentPassword,
		NewPassword:     prm.NewPassword,
		Email:           prm.Email,
		Phone:           phone,
		Login:           prm.Login,
		FirstName:       prm.FirstName,
		LastName:        prm.LastName,
		AvatarObject:    prm.AvatarObject,
		Addr:            s.addrHost(),
	})
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("user", u))
}

// handleUserDelete deletes the caller's account. This socket stays open but
// unauthenticated; every other socket of the user is closed with
// CloseUserDeleted. -> {"success":true}
func (g *Gateway) handleUserDelete(ctx context.Context, s *Socket, c call) ([]byte, error) {
	s.unbind(ctx)
	if err := g.accounts.DeleteUser(ctx, *c.p); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleUserSearch finds users of the caller's organization by prefix.
// ignore_ids is optional (SAMA threw without it). -> {"users":[..]}
func (g *Gateway) handleUserSearch(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	var prm struct {
		Keyword   string `json:"keyword"`
		Limit     int    `json:"limit"`
		UpdatedAt struct {
			Gt *protocol.Time `json:"gt"`
		} `json:"updated_at"`
		IgnoreIDs []protocol.FlexString `json:"ignore_ids"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if prm.Keyword == "" {
		return nil, protocol.FieldRequired("keyword")
	}
	if prm.Limit < 0 || prm.Limit > 100 {
		return nil, protocol.Invalid("limit", "'limit' must be between 1 and 100")
	}
	if len(prm.IgnoreIDs) > maxIDs { // before empty ids are dropped
		return nil, protocol.Invalid("ignore_ids", fmt.Sprintf("'ignore_ids' max length %d", maxIDs))
	}
	q := auth.UserSearch{Keyword: prm.Keyword, Limit: prm.Limit, IgnoreIDs: flexStrings(prm.IgnoreIDs)}
	if prm.UpdatedAt.Gt != nil {
		t := prm.UpdatedAt.Gt.Time
		q.UpdatedAfter = &t
	}
	users, err := g.accounts.SearchUsers(ctx, *c.p, q)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("users", nonNil(users)))
}

// handleGetUsersByIDs returns users of the caller's organization; unknown ids
// are dropped. -> {"users":[..]}
func (g *Gateway) handleGetUsersByIDs(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	var prm struct {
		IDs *[]protocol.FlexString `json:"ids"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	ids, err := idList(prm.IDs, 1)
	if err != nil {
		return nil, err
	}
	users, err := g.accounts.UsersByIDs(ctx, c.p.OrgID, ids)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("users", nonNil(users)))
}

// idList validates a required "ids" list of at least min and at most
// maxIDs entries.
func idList(raw *[]protocol.FlexString, min int) ([]string, error) {
	if raw == nil {
		return nil, protocol.FieldRequired("ids")
	}
	if len(*raw) > maxIDs { // before empty ids are dropped
		return nil, protocol.Invalid("ids", fmt.Sprintf("'ids' max length %d", maxIDs))
	}
	ids := flexStrings(*raw)
	if len(ids) < min {
		return nil, protocol.Invalid("ids", fmt.Sprintf("'ids' must contain at least %d items", min))
	}
	return ids, nil
}

func flexStrings(in []protocol.FlexString) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v != "" {
			out = append(out, string(v))
		}
	}
	return out
}

// nonNil keeps empty lists as [] on the wire (a nil slice marshals to null,
// which the SAMA SDK rejects).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

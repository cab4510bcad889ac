package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/samagate/samagate/files"
)

// FilesConfig configures attachments: where their bytes live and the
// service's limits. The zero value keeps them on the local disk under
// DataDir/files, served by samagate itself.
type FilesConfig struct {
	files.Config
	// PublicURL is the origin clients reach this node at
	// ("https://chat.example.com"); local-disk upload and download URLs
	// start with it. Default "http://" + the listen address.
	PublicURL string
	// S3, when its Endpoint is set, stores the bytes in S3-compatible
	// object storage instead (needed when several nodes serve one cluster).
	S3 files.S3Config
}

// buildFiles opens the object storage and the files service.
func (a *App) buildFiles(ctx context.Context) error {
	cfg := a.cfg.Files
	var obj files.Storage
	if cfg.S3.Endpoint != "" {
		s3, err := files.NewS3(ctx, cfg.S3)
		if err != nil {
			return fmt.Errorf("file storage: %w", err)
		}
		a.s3, obj = s3, s3
	} else {
		l, err := files.NewLocal(files.LocalConfig{Dir: filepath.Join(a.cfg.DataDir, "files"), BaseURL: cfg.PublicURL,
			Now: cfg.Now})
		if err != nil {
			return fmt.Errorf("file storage: %w", err)
		}
		a.local, obj = l, l
		if a.cfg.DatabaseURL != "" {
			a.log.Warn().Msg("attachments are on this node's disk: set --s3-endpoint when several nodes share the database")
		}
	}
	a.files = files.New(a.db, obj, cfg.Config, a.log.With().Str("component", "files").Logger())
	fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopFiles, a.filesDone = stop, make(chan struct{})
	go func(done chan<- struct{}) {
		defer close(done)
		a.files.Run(fctx)
	}(a.filesDone)
	return nil
}

// filesRoutes serves the local disk's signed URLs under files.Route and
// everything else with next.
func (a *App) filesRoutes(next http.Handler) http.Handler {
	if a.local == nil {
		return next
	}
	h := a.local.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, files.Route) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// listened tells the local storage the node's address when no PublicURL
// was given.
func (a *App) listened(addr net.Addr) {
	if a.local == nil || a.cfg.Files.PublicURL != "" {
		return
	}
	host := addr.String()
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		host = net.JoinHostPort("localhost", fmt.Sprint(ta.Port))
	}
	a.local.SetBaseURL("http://" + host)
}

// stopFilesLocked ends the collector and drops S3's idle connections.
func (a *App) stopFilesLocked() {
	if a.stopFiles != nil {
		a.stopFiles()
		<-a.filesDone
		a.stopFiles, a.filesDone = nil, nil
	}
	if a.s3 != nil {
		a.s3.Close()
		a.s3 = nil
	}
	a.local, a.files = nil, nil
}

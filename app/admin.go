package app

import (
	"context"
	"os"
	"time"

	"github.com/samagate/samagate/adminapi"
	"github.com/samagate/samagate/gateway"
)

// adminAPI builds the admin routes beyond POST /admin/organization
// (package adminapi) over this node's chat, accounts, presence and sockets;
// server-stats pings the store and, in a cluster, Redis. rates counts the
// node's messages (chat's sink feeds it).
func (a *App) adminAPI(pres gateway.Presence, gw *gateway.Gateway, rates *adminapi.Rates, started time.Time) *adminapi.API {
	store := "sqlite"
	if a.cfg.DatabaseURL != "" {
		store = "postgres"
	}
	chatSvc := a.chat
	checks := []adminapi.Check{{Name: store, Ping: func(ctx context.Context) error {
		_, err := chatSvc.LastCommit(ctx) // one read of the store
		return err
	}}}
	if a.cluster != nil {
		checks = append(checks, adminapi.Check{Name: "redis", Ping: a.cluster.Ping})
	}
	host := a.cfg.HTTP.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	return adminapi.New(adminapi.Config{Chat: a.chat, Users: a.accounts, Presence: pres, Node: gw,
		Checks: checks, Rates: rates, Hostname: host, Started: started},
		a.log.With().Str("component", "admin").Logger())
}

package gateway

import (
	"context"
	"fmt"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// onlineListDefaultLimit is SAMA's default page of online_list.
const onlineListDefaultLimit = 10

// lastActivity is what last_activity reports for a user: 0 while any of
// their devices is connected, else the unix time the last one left. A user
// who never connected reports their sign-up time, never 0 (which would read
// as "online").
func (g *Gateway) lastActivity(ctx context.Context, u *auth.User) (int64, error) {
	online, err := g.presence.Online(ctx, u.ID)
	if err != nil {
		return 0, fmt.Errorf("presence: %w", err)
	}
	switch {
	case online:
		return 0, nil
	case u.RecentActivity > 0:
		return u.RecentActivity, nil
	}
	return u.CreatedUnix(), nil
}

// handleActivitySubscribe makes this socket follow one user's online and
// offline changes (replacing an earlier subscription).
// {id} -> {"last_activity":{"<id>":0|<unix s>}}
func (g *Gateway) handleActivitySubscribe(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		ID protocol.FlexString `json:"id"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if prm.ID == "" {
		return nil, protocol.ErrUserIDMissed
	}
	u, err := g.accounts.GetUser(ctx, c.p.OrgID, string(prm.ID))
	if err != nil {
		return nil, err
	}
	v, err := g.lastActivity(ctx, u)
	if err != nil {
		return nil, err
	}
	g.follow(ctx, s, u.ID)
	return c.respond(protocol.F("last_activity", map[string]int64{u.ID: v}))
}

// handleActivityUnsubscribe ends this socket's subscription. -> {"success":true}
func (g *Gateway) handleActivityUnsubscribe(ctx context.Context, s *Socket, c call) ([]byte, error) {
	g.unfollow(ctx, s)
	return c.respond(protocol.F("success", true))
}

// handleLastActivity reports several users of the caller's organization;
// unknown ids are left out. {ids} -> {"last_activity":{...}}
func (g *Gateway) handleLastActivity(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	var prm struct {
		IDs *[]protocol.FlexString `json:"ids"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	ids, err := idList(prm.IDs, 0)
	if err != nil {
		return nil, err
	}
	users, err := g.accounts.UsersByIDs(ctx, c.p.OrgID, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(users))
	for i := range users {
		if out[users[i].ID], err = g.lastActivity(ctx, &users[i]); err != nil {
			return nil, err
		}
	}
	return c.respond(protocol.F("last_activity", out))
}

// handleOnlineList pages the online users of the caller's organization:
// {count?, idsOnly?, limit? 1..100 (10), offset? >=0} -> {"count":n} |
// {"users":["<id>",...]} | {"users":[<public user>,...]}. Only public user
// objects, never hashes or device ids (SAMA leaked raw documents).
func (g *Gateway) handleOnlineList(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	var prm struct {
		Count   bool `json:"count"`
		IDsOnly bool `json:"idsOnly"`
		Limit   *int `json:"limit"`
		Offset  int  `json:"offset"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	limit := onlineListDefaultLimit
	if prm.Limit != nil {
		limit = *prm.Limit
	}
	if limit < 1 || limit > 100 {
		return nil, protocol.Invalid("limit", "'limit' must be between 1 and 100")
	}
	if prm.Offset < 0 {
		return nil, protocol.Invalid("offset", "'offset' must be 0 or more")
	}
	ids, err := g.presence.OnlineUsers(ctx, c.p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("online users: %w", err)
	}
	if prm.Count {
		return c.respond(protocol.F("count", len(ids)))
	}
	page := pageOf(ids, prm.Offset, limit)
	if prm.IDsOnly {
		return c.respond(protocol.F("users", page))
	}
	users, err := g.accounts.UsersByIDs(ctx, c.p.OrgID, page)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("users", nonNil(users)))
}

// pageOf is ids[offset:offset+limit] clamped to ids; offset+limit is never
// computed, so a huge offset cannot overflow (it panicked once).
func pageOf(ids []string, offset, limit int) []string {
	lo := min(offset, len(ids))
	return ids[lo : lo+min(limit, len(ids)-lo)]
}

// handleActivityStatus records whether the client app is in the background
// ({isInactive: bool}); inactive sockets still get live events. -> {"success":true}
func (g *Gateway) handleActivityStatus(_ context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		IsInactive bool `json:"isInactive"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	s.inactive.Store(prm.IsInactive)
	return c.respond(protocol.F("success", true))
}

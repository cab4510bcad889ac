package gateway

import (
	"context"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// errTooManySockets answers a connect beyond Config.MaxSocketsPerUser.
var errTooManySockets = protocol.ErrTooManyRequest.WithField("connections", "too many open sockets for this user")

// bind attaches the socket to p. A socket that was bound to someone else is
// re-bound cleanly: it stops receiving the previous user's events at once
// (SAMA left it in the old user's delivery list).
func (s *Socket) bind(ctx context.Context, p *auth.Principal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return errSocketClosed
	}
	capacity := s.g.cfg.MaxSocketsPerUser
	if old := s.principal; (old == nil || old.UserID != p.UserID) && s.g.hub.full(p.UserID, capacity) {
		return errTooManySockets // the old binding, if any, stays
	}
	s.unbindLocked(ctx)
	if !s.g.hub.bind(s, p.UserID, capacity) { // lost a race for the last slot
		return errTooManySockets
	}
	s.principal = p
	s.boundAt.Store(time.Now().UnixMilli())
	if at := expiryOf(p.SessionExpiresAt); at != 0 {
		s.expiresAt.Store(at)
		s.armExpiry(at, time.Now())
	}
	first, err := s.g.presence.Add(ctx, p.OrgID, p.UserID, p.DeviceID, s.id)
	if err != nil {
		s.g.log.Error().Err(err).Str("user", p.UserID).Msg("presence add failed")
	}
	if first {
		s.g.announce(ctx, p.UserID, 0)
	}
	return nil
}

// unbind detaches the socket from its user; it stays open, unauthenticated.
func (s *Socket) unbind(ctx context.Context) {
	s.mu.Lock()
	s.unbindLocked(ctx)
	s.mu.Unlock()
}

// unbindLocked detaches the socket and ends its activity subscription; when
// the user's last socket goes (and only then), the last activity time is
// stored and followers get the offline event.
func (s *Socket) unbindLocked(ctx context.Context) {
	p := s.principal
	if p == nil {
		return
	}
	s.principal = nil
	s.expiresAt.Store(0)
	g := s.g
	g.hub.unbind(s, p.UserID)
	g.unfollow(ctx, s)
	s.inactive.Store(false)
	last, err := g.presence.Remove(ctx, p.UserID, p.DeviceID, s.id)
	if err != nil {
		g.log.Error().Err(err).Str("user", p.UserID).Msg("presence remove failed")
		return
	}
	if last {
		now := time.Now()
		if err := g.accounts.SetRecentActivity(ctx, p.UserID, now); err != nil {
			g.log.Debug().Err(err).Str("user", p.UserID).Msg("store recent activity")
		}
		g.announce(ctx, p.UserID, now.Unix())
	}
}

// endIf unbinds and closes the socket with code when it belongs to the
// ended sessions e describes.
func (s *Socket) endIf(ctx context.Context, e auth.SessionEnd, code int) bool {
	s.mu.Lock()
	p := s.principal
	if p == nil || p.UserID != e.UserID || (e.DeviceID != "" && p.DeviceID != e.DeviceID) ||
		(e.SessionID != "" && p.SessionID != e.SessionID) || (e.ExceptSessionID != "" && p.SessionID == e.ExceptSessionID) {
		s.mu.Unlock()
		return false
	}
	s.unbindLocked(ctx)
	s.mu.Unlock()
	s.close(code)
	return true
}

// EndSession closes every live socket of a session that auth has ended
// (logout, account deletion, revocation), on this node and on the others:
// they are unbound at once and told why with a terminal close code. auth
// calls it through Config.OnSessionEnd.
func (g *Gateway) EndSession(ctx context.Context, e auth.SessionEnd) {
	g.endSessionLocal(ctx, e)
	if g.cluster != nil {
		if err := g.cluster.EndSession(ctx, e.UserID, e.DeviceID, e.SessionID, e.ExceptSessionID, e.Reason); err != nil {
			g.log.Error().Err(err).Str("user", e.UserID).Msg("cluster: end session")
		}
	}
}

// endSessionLocal closes this node's sockets of an ended session.
func (g *Gateway) endSessionLocal(ctx context.Context, e auth.SessionEnd) {
	code := protocol.CloseSessionRevoked
	switch e.Reason {
	case "logout":
		code = protocol.CloseLoggedOut
	case "deleted":
		code = protocol.CloseUserDeleted
	}
	n := 0
	for _, s := range g.hub.userSockets(e.UserID) {
		if s.endIf(ctx, e, code) {
			n++
		}
	}
	g.log.Debug().Str("user", e.UserID).Str("device", e.DeviceID).Str("reason", e.Reason).
		Int("sockets", n).Msg("session ended")
}

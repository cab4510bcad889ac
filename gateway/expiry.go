package gateway

import (
	"context"
	"time"

	"github.com/samagate/samagate/protocol"
)

// A bound socket lives only as long as its principal's right to be
// connected: its session's expiry, or an external issuer's token's exp
// (auth.Principal.SessionExpiresAt). At that moment it is unbound and
// closed with CloseSessionExpired (4103, terminal: log in again).
//
// No timer is kept per socket: at 20k idle sockets a timer each would cost
// more than the socket itself. The ping loop, which visits every socket
// anyway, arms a one-shot timer only for the sockets whose expiry falls
// before its next pass; bind does the same for a principal that expires
// sooner than that. The expiry is read without the socket's lock
// (Socket.expiresAt), so a socket busy binding never holds up the ping
// loop. A timer that finds the socket re-bound or closed does nothing.

// watchExpiry is the ping loop's check of one socket at now.
func (s *Socket) watchExpiry(now time.Time) {
	if at := s.expiresAt.Load(); at != 0 {
		s.armExpiry(at, now)
	}
}

// armExpiry closes the socket at its expiry at (unix ns) when that comes
// before the ping loop's next pass; later expiries are left to that pass.
func (s *Socket) armExpiry(at int64, now time.Time) {
	left := time.Duration(at - now.UnixNano())
	switch {
	case left <= 0:
		go s.expire(at)
	case left <= s.g.cfg.PingInterval:
		time.AfterFunc(left, func() { s.expire(at) })
	}
}

// expiryOf is what Socket.expiresAt holds for a principal expiring at t:
// unix ns, 0 for never.
func expiryOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// expire unbinds and closes the socket if it is still bound to a
// principal expiring at at.
func (s *Socket) expire(at int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.mu.Lock()
	p := s.principal
	if p == nil || expiryOf(p.SessionExpiresAt) != at {
		s.mu.Unlock()
		return
	}
	s.unbindLocked(ctx)
	s.mu.Unlock()
	s.close(protocol.CloseSessionExpired)
	s.g.log.Debug().Str("conn", s.id).Str("user", p.UserID).Str("device", p.DeviceID).
		Time("expired_at", p.SessionExpiresAt).Msg("session expired: socket closed")
}

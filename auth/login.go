package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// PasswordLogin is a login with a password (HTTP /login and websocket
// user_login). OrgID "" means the default organization; UserID may replace
// Login (SAMA's userId variant).
type PasswordLogin struct {
	OrgID, Login, UserID, Password, DeviceID, Addr, UserAgent string
	// Client is what the app says about itself; empty fields are filled
	// from UserAgent where it tells.
	Client store.SessionClient
	// Code is the second factor: a TOTP code or a recovery code, needed
	// once the user enabled TOTP.
	Code string
	// SelectionToken completes a login that answered SelectAccountError,
	// with OrgID naming the chosen account; no password then.
	SelectionToken string
}

func orgOrDefault(org string) string {
	if org == "" {
		return store.DefaultOrg
	}
	return org
}

// LoginPassword checks the password and opens a new session for
// (user, device). Every path is throttled before its check: the account
// (resolved, so login, e-mail and userId count alike) and the address each
// reserve an attempt before the password is hashed. Unknown users and wrong
// passwords get the same error after the same work.
func (s *Service) LoginPassword(ctx context.Context, l PasswordLogin) (*Grant, error) {
	g, err := s.loginPassword(ctx, l)
	if o := s.cfg.Observer; o != nil {
		o.Login(LoginResult(err))
	}
	return g, err
}

func (s *Service) loginPassword(ctx context.Context, l PasswordLogin) (*Grant, error) {
	if l.DeviceID == "" {
		return nil, protocol.ErrDeviceIDRequired
	}
	if l.SelectionToken != "" {
		return s.completeSelection(ctx, l)
	}
	if (l.Login == "" && l.UserID == "") || l.Password == "" {
		return nil, protocol.ErrLoginOrPasswordMiss
	}
	if l.OrgID == "" && l.UserID == "" {
		return s.loginAnyOrg(ctx, l)
	}
	org := orgOrDefault(l.OrgID)
	u, ident, err := s.lookupLogin(ctx, org, l)
	if err != nil {
		return nil, err
	}
	uid, hash := "", s.dummy
	if u != nil {
		uid, hash = u.ID, u.PasswordHash
		if err := s.codeLocked(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	att, err := s.reserve(ctx, accountKey(uid, org, ident), addressKey(l.Addr))
	if err != nil {
		return nil, err
	}
	ok, err := s.verify(ctx, l.Password, hash)
	if err != nil {
		att.undo(ctx) // nothing was checked
		return nil, err
	}
	if u == nil || !ok {
		att.fail(ctx)
		return nil, protocol.ErrBadCredentials
	}
	att.succeed(ctx)
	return s.openPasswordSession(ctx, u, l)
}

// lookupLogin finds the account of a login with an organization (or by
// userId); nil when there is none. ident is what the throttle keys an
// unknown account by.
func (s *Service) lookupLogin(ctx context.Context, org string, l PasswordLogin) (*store.User, string, error) {
	var (
		u     *store.User
		err   error
		ident = l.Login
	)
	if l.UserID != "" {
		ident = "id:" + l.UserID
		u, err = s.st.UserByID(ctx, org, l.UserID)
	} else {
		u, err = s.st.UserByLogin(ctx, org, l.Login)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, ident, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("load user: %w", err)
	}
	return u, ident, nil
}

// openSession creates a session with its first refresh and access tokens,
// then keeps the user within MaxSessionsPerUser.
func (s *Service) openSession(ctx context.Context, u *store.User, device, addr, ua string, client store.SessionClient) (*Grant, error) {
	now := s.now()
	sess := &store.Session{
		ID: store.NewID(), UserID: u.ID, OrgID: u.OrgID, DeviceID: device, Addr: addr, UserAgent: ua, Client: client,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL),
	}
	if err := s.st.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	g, err := s.grant(ctx, u, sess, nil)
	if err != nil {
		return nil, err
	}
	s.capSessions(ctx, u, sess.ID)
	return g, nil
}

// grant issues an access token and a refresh token for sess. With prev set
// the refresh token replaces prev atomically (rotation).
func (s *Service) grant(ctx context.Context, u *store.User, sess *store.Session, prev *store.RefreshToken) (*Grant, error) {
	now := s.now()
	p := Principal{UserID: u.ID, OrgID: u.OrgID, DeviceID: sess.DeviceID, SessionID: sess.ID, Login: u.Login,
		SessionExpiresAt: sess.ExpiresAt}
	ttl := s.accessTTL(ctx)
	access, exp, err := s.issueAccess(p, ttl)
	if err != nil {
		return nil, err
	}
	p.ExpiresAt = exp
	refresh, hash, err := newRefreshToken()
	if err != nil {
		return nil, err
	}
	rt := &store.RefreshToken{Hash: hash, SessionID: sess.ID, CreatedAt: now, ExpiresAt: sess.ExpiresAt}
	if prev != nil {
		rotated, err := s.st.RotateRefreshToken(ctx, prev.Hash, rt, now)
		if err != nil {
			return nil, err
		}
		if !rotated { // a concurrent refresh won; this one is within grace
			err = s.st.CreateRefreshToken(ctx, rt)
		}
		if err != nil {
			return nil, err
		}
	} else if err := s.st.CreateRefreshToken(ctx, rt); err != nil {
		return nil, err
	}
	return &Grant{User: publicUser(u), Principal: p, AccessToken: access, AccessExpiresAt: exp, AccessTTL: ttl,
		RefreshToken: refresh, RefreshExpiresAt: sess.ExpiresAt}, nil
}

// liveSession loads a session that is neither revoked nor expired.
func (s *Service) liveSession(ctx context.Context, id string) (*store.Session, error) {
	sess, err := s.st.Session(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrTokenExpired
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if !sess.RevokedAt.IsZero() || !s.now().Before(sess.ExpiresAt) {
		return nil, protocol.ErrTokenExpired
	}
	return sess, nil
}

// connectSession is liveSession through the session cache: a live session
// read less than SessionCacheTTL ago, and not ended since, answers without
// a read.
func (s *Service) connectSession(ctx context.Context, id, userID string) (*store.Session, error) {
	now := s.now()
	if sess, ok := s.sessions.get(id, now); ok {
		if !sess.RevokedAt.IsZero() || !now.Before(sess.ExpiresAt) {
			return nil, protocol.ErrTokenExpired
		}
		return sess, nil
	}
	epoch := s.sessions.epoch(userID)
	sess, err := s.liveSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if sess.UserID == userID { // else the caller refuses it
		s.sessions.put(sess, epoch, now)
	}
	return sess, nil
}

// Authenticate verifies an access token for deviceID (websocket connect and
// the token variant of user_login). A revoked session reads as expired, as
// SAMA answers for a deleted token.
func (s *Service) Authenticate(ctx context.Context, accessToken, deviceID string) (*Principal, error) {
	if s.IsExternalToken(accessToken) { // another issuer's token (--jwt-jwks-url)
		return s.ExternalPrincipal(ctx, accessToken, deviceID)
	}
	c, err := s.parseAccess(accessToken)
	if err != nil {
		return nil, err
	}
	return s.principalOf(ctx, c, deviceID)
}

// principalOf checks verified access claims against their live session on
// deviceID.
func (s *Service) principalOf(ctx context.Context, c *accessClaims, deviceID string) (*Principal, error) {
	if c.DeviceID != deviceID {
		return nil, protocol.ErrIncorrectToken
	}
	epoch := s.sessions.epoch(c.UID)
	sess, err := s.connectSession(ctx, c.SID, c.UID)
	if err != nil {
		return nil, err
	}
	if sess.UserID != c.UID || sess.DeviceID != deviceID {
		return nil, protocol.ErrIncorrectToken
	}
	s.touch(ctx, sess)
	return &Principal{UserID: c.UID, OrgID: sess.OrgID, DeviceID: deviceID, SessionID: sess.ID,
		Login: c.Login, ExpiresAt: c.ExpiresAt.Time, SessionExpiresAt: sess.ExpiresAt, epoch: epoch + 1}, nil
}

// StillLive tells a caller that bound a socket to p (Authenticate'd a
// moment before) whether p's session is still live. A session end that
// came between the check and the bind was announced before the socket was
// there to be closed; any end of the user since the check moved the
// user's epoch, and then the session is read again. Without one, nothing
// is read.
func (s *Service) StillLive(ctx context.Context, p *Principal) (bool, error) {
	if p.epoch == 0 || s.sessions.epoch(p.UserID) == p.epoch-1 {
		return true, nil
	}
	_, err := s.liveSession(ctx, p.SessionID)
	if errors.Is(err, protocol.ErrTokenExpired) {
		return false, nil
	}
	return err == nil, err
}

// touchEvery is how stale a session's last-used time may get before a use
// writes it again (one write per session per minute at most).
const touchEvery = time.Minute

// touch records that sess was used (GET /sessions shows it); a failure only
// leaves the time stale.
func (s *Service) touch(ctx context.Context, sess *store.Session) {
	now := s.now()
	if now.Sub(sess.LastUsedAt) < touchEvery {
		return
	}
	if err := s.st.TouchSession(ctx, sess.ID, now); err != nil {
		s.log.Debug().Err(err).Str("session", sess.ID).Msg("touch session")
		return
	}
	s.sessions.touched(sess.ID, now)
}

// IssueAccess signs a fresh access token for an authenticated principal
// (user_login returns one, as SAMA does).
func (s *Service) IssueAccess(ctx context.Context, p Principal) (string, time.Time, error) {
	return s.issueAccess(p, s.accessTTL(ctx))
}

// LoginAccess is SAMA's Bearer re-login: a live access token for deviceID
// gets a fresh access token and a new refresh token of the same session.
func (s *Service) LoginAccess(ctx context.Context, accessToken, deviceID, addr, userAgent string) (*Grant, error) {
	p, err := s.Authenticate(ctx, accessToken, deviceID)
	if err != nil {
		return nil, err
	}
	return s.resume(ctx, p.OrgID, p.UserID, p.SessionID, nil)
}

// resume re-grants a live session.
func (s *Service) resume(ctx context.Context, orgID, userID, sessionID string, prev *store.RefreshToken) (*Grant, error) {
	sess, err := s.liveSession(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	u, err := s.st.UserByID(ctx, orgID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrTokenExpired
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if err := s.st.TouchSession(ctx, sess.ID, s.now()); err != nil {
		return nil, fmt.Errorf("touch session: %w", err)
	}
	return s.grant(ctx, u, sess, prev)
}

// Refresh is the cookie re-login. The refresh token is rotated on every use;
// presenting a used one after RefreshReuseGrace means it leaked, so the whole
// session is revoked.
func (s *Service) Refresh(ctx context.Context, refreshToken, deviceID, addr, userAgent string) (*Grant, error) {
	rt, err := s.st.RefreshToken(ctx, hashToken(refreshToken))
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrTokenExpired
	}
	if err != nil {
		return nil, fmt.Errorf("load refresh token: %w", err)
	}
	now := s.now()
	if !now.Before(rt.ExpiresAt) {
		return nil, protocol.ErrTokenExpired
	}
	sess, err := s.liveSession(ctx, rt.SessionID)
	if err != nil {
		return nil, err
	}
	if sess.DeviceID != deviceID {
		return nil, protocol.ErrIncorrectToken
	}
	if !rt.UsedAt.IsZero() {
		if now.Sub(rt.UsedAt) > s.cfg.RefreshReuseGrace {
			if err := s.st.RevokeSession(ctx, sess.ID, now); err != nil {
				return nil, fmt.Errorf("revoke session: %w", err)
			}
			s.log.Warn().Str("user", sess.UserID).Str("session", sess.ID).Msg("refresh token reused; session revoked")
			s.endSessions(ctx, SessionEnd{UserID: sess.UserID, OrgID: sess.OrgID, DeviceID: sess.DeviceID, Reason: "revoked"})
			return nil, protocol.ErrTokenExpired
		}
		return s.resume(ctx, sess.OrgID, sess.UserID, sess.ID, nil)
	}
	return s.resume(ctx, sess.OrgID, sess.UserID, sess.ID, rt)
}

// Logout revokes every session of (user, device) and tells the gateway.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if _, err := s.st.RevokeSessions(ctx, p.UserID, p.DeviceID, s.now()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.endSessions(ctx, SessionEnd{UserID: p.UserID, OrgID: p.OrgID, DeviceID: p.DeviceID, Reason: "logout"})
	return nil
}

// LogoutTokens is HTTP /logout: a live access token plus the refresh token
// of a session of the same user and device.
func (s *Service) LogoutTokens(ctx context.Context, accessToken, refreshToken string) (*Principal, error) {
	c, err := s.parseAccess(accessToken)
	if err != nil {
		return nil, protocol.ErrMissingCredentials
	}
	p, err := s.principalOf(ctx, c, c.DeviceID)
	if err != nil {
		return nil, protocol.ErrMissingCredentials
	}
	if refreshToken == "" {
		return nil, protocol.ErrIncorrectToken
	}
	rt, err := s.st.RefreshToken(ctx, hashToken(refreshToken))
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrIncorrectToken
	}
	if err != nil {
		return nil, fmt.Errorf("load refresh token: %w", err)
	}
	sess, err := s.st.Session(ctx, rt.SessionID)
	if err != nil || sess.UserID != p.UserID || sess.DeviceID != p.DeviceID {
		return nil, protocol.ErrIncorrectToken
	}
	if err := s.Logout(ctx, *p); err != nil {
		return nil, err
	}
	return p, nil
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// ErrUserGone answers a valid token whose user no longer exists.
var ErrUserGone = errors.New("user not found")

// ErrSessionNotFound answers a revocation of a session that is not one of
// the caller's live sessions.
var ErrSessionNotFound = &protocol.Error{Status: 404, Message: "Session not found."}

// ClientInfo is what an app reports about itself at login.
type ClientInfo = store.SessionClient

// SessionInfo is one device session as its owner sees it (GET /sessions,
// session_list): the client it reported, where from and when.
type SessionInfo struct {
	ID              string `json:"id"`
	DeviceID        string `json:"device_id"`
	Platform        string `json:"platform,omitempty"`
	PlatformVersion string `json:"platform_version,omitempty"`
	AppName         string `json:"app_name,omitempty"`
	AppVersion      string `json:"app_version,omitempty"`
	Provider        string `json:"provider,omitempty"`
	Address         string `json:"address,omitempty"`
	UserAgent       string `json:"user_agent,omitempty"`
	CreatedAt       string `json:"created_at"`
	LastUsedAt      string `json:"last_used_at"`
	ExpiresAt       string `json:"expires_at"`
	Current         bool   `json:"current"`
}

func sessionInfo(x *store.Session, current string) SessionInfo {
	return SessionInfo{
		ID: x.ID, DeviceID: x.DeviceID,
		Platform: x.Client.Platform, PlatformVersion: x.Client.PlatformVersion,
		AppName: x.Client.AppName, AppVersion: x.Client.AppVersion, Provider: x.Client.Provider,
		Address: x.Addr, UserAgent: x.UserAgent,
		CreatedAt:  x.CreatedAt.UTC().Format(isoTime),
		LastUsedAt: x.LastUsedAt.UTC().Format(isoTime),
		ExpiresAt:  x.ExpiresAt.UTC().Format(isoTime),
		Current:    x.ID == current,
	}
}

// Bearer authenticates an access token on its own (HTTP session routes: the
// device comes from the token). It tells the three failures apart: the user
// is gone (ErrUserGone), the token or its session has expired or was
// revoked (protocol.ErrTokenExpired), or it is not a token of ours
// (protocol.ErrIncorrectToken).
func (s *Service) Bearer(ctx context.Context, accessToken string) (*Principal, *User, error) {
	c, err := s.parseAccess(accessToken)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.st.UserByID(ctx, orgOrDefault(c.OrgID), c.UID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrUserGone
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load user: %w", err)
	}
	p, err := s.principalOf(ctx, c, c.DeviceID)
	if err != nil {
		return nil, nil, err
	}
	return p, publicUser(u), nil
}

// Sessions lists the caller's live sessions, the current one marked.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]SessionInfo, error) {
	list, err := s.st.UserSessions(ctx, p.UserID, s.now())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]SessionInfo, 0, len(list))
	for i := range list {
		out = append(out, sessionInfo(&list[i], p.SessionID))
	}
	return out, nil
}

// CurrentSession describes the session of p.
func (s *Service) CurrentSession(ctx context.Context, p Principal) (*SessionInfo, error) {
	x, err := s.liveSession(ctx, p.SessionID)
	if err != nil {
		return nil, err
	}
	info := sessionInfo(x, p.SessionID)
	return &info, nil
}

// RevokeSession ends one of the caller's live sessions (it may be the
// current one); its sockets are closed on every node.
func (s *Service) RevokeSession(ctx context.Context, p Principal, id string) error {
	x, err := s.st.Session(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (x.UserID != p.UserID || !x.RevokedAt.IsZero() || !s.now().Before(x.ExpiresAt))) {
		return ErrSessionNotFound
	}
	if err != nil {
		return fmt.Errorf("load session: %w", err)
	}
	if err := s.st.RevokeSession(ctx, id, s.now()); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.endSessions(ctx, SessionEnd{UserID: p.UserID, OrgID: p.OrgID, SessionID: id, Reason: "revoked"})
	return nil
}

// LogoutEverywhere ends every live session of the caller ("all"), or every
// one but the current ("others"), and returns how many it ended.
func (s *Service) LogoutEverywhere(ctx context.Context, p Principal, keepCurrent bool) (int, error) {
	keep := ""
	if keepCurrent {
		keep = p.SessionID
	}
	n, err := s.st.RevokeOtherSessions(ctx, p.UserID, keep, s.now())
	if err != nil {
		return 0, fmt.Errorf("logout: %w", err)
	}
	s.endSessions(ctx, SessionEnd{UserID: p.UserID, OrgID: p.OrgID, ExceptSessionID: keep, Reason: "logout"})
	return n, nil
}

// capSessions ends the user's least recently used live sessions beyond
// MaxSessionsPerUser, never keep (the one just opened). Ending the oldest
// rather than refusing the login means the owner can always log in; a
// thief who has the password could end sessions anyway (session_revoke).
// A failure is logged: the login itself succeeded.
func (s *Service) capSessions(ctx context.Context, u *store.User, keep string) {
	limit := s.cfg.MaxSessionsPerUser
	if limit < 0 {
		return
	}
	list, err := s.st.UserSessions(ctx, u.ID, s.now()) // most recently used first
	if err != nil {
		s.log.Warn().Err(err).Str("user", u.ID).Msg("cap sessions")
		return
	}
	for i := len(list) - 1; i >= 0 && len(list) > limit; i-- {
		if list[i].ID == keep {
			continue
		}
		if err := s.st.RevokeSession(ctx, list[i].ID, s.now()); err != nil {
			s.log.Warn().Err(err).Str("user", u.ID).Msg("cap sessions")
			return
		}
		s.endSessions(ctx, SessionEnd{UserID: u.ID, OrgID: u.OrgID, SessionID: list[i].ID, Reason: "revoked"})
		list = append(list[:i], list[i+1:]...)
	}
}

// withUserAgent fills the client fields the app left empty from its
// User-Agent (platform; app name and version from the first product token)
// and records how the session was opened (provider).
func withUserAgent(c store.SessionClient, ua, provider string) store.SessionClient {
	if c.Provider == "" {
		c.Provider = provider
	}
	if ua == "" {
		return c
	}
	if c.Platform == "" {
		for _, p := range []struct{ token, name string }{
			{"Android", "android"}, {"iPhone", "ios"}, {"iPad", "ios"}, {"Windows", "windows"},
			{"Mac OS X", "macos"}, {"CrOS", "chromeos"}, {"Linux", "linux"},
		} {
			if strings.Contains(ua, p.token) {
				c.Platform = p.name
				break
			}
		}
	}
	if c.AppName == "" {
		product, _, _ := strings.Cut(ua, " ")
		name, version, _ := strings.Cut(product, "/")
		c.AppName = name
		if c.AppVersion == "" {
			c.AppVersion = version
		}
	}
	return c
}

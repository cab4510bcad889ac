package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// maxAccountsPerIdentifier bounds the accounts one login may check (each
// costs a password hash).
const maxAccountsPerIdentifier = 10

// selectionTTL is how long a select_account answer may be completed.
const selectionTTL = 5 * time.Minute

// SelectAccountError answers a password login without organization_id whose
// identifier and password match accounts in several organizations (the
// SaaS account API's select_account): nothing is logged in yet. Completing
// the login with one of the organizations and Token needs no second
// password.
type SelectAccountError struct {
	Accounts  map[string]string // organization id -> name
	LastLogin string            // organization of the most recent login among them, or ""
	Token     string            // selection_token
}

func (e *SelectAccountError) Error() string { return "select one of several accounts" }

// selectClaims are the claims of a selection token: which user each
// organization stands for, bound to the device that logged in.
type selectClaims struct {
	Users    map[string]string `json:"uids"`
	DeviceID string            `json:"device_id"`
	Type     string            `json:"type"`
	jwt.RegisteredClaims
}

var errBadSelection = protocol.Invalid("selection_token", "'selection_token' is invalid or expired")

// loginAnyOrg is a password login without organization_id: the identifier
// may name accounts in several organizations; those whose password matches
// count. One match logs in; several answer SelectAccountError.
func (s *Service) loginAnyOrg(ctx context.Context, l PasswordLogin, account string) (*Grant, error) {
	users, err := s.st.UsersByIdentifier(ctx, l.Login, maxAccountsPerIdentifier)
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	var matched []store.User
	if len(users) == 0 {
		if _, err := s.verify(ctx, l.Password, s.dummy); err != nil { // same work as a wrong password
			return nil, err
		}
	}
	for _, u := range users {
		ok, err := s.verify(ctx, l.Password, u.PasswordHash)
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, u)
		}
	}
	if !s.recordAttempt(ctx, account, l.Addr, len(matched) > 0) {
		return nil, protocol.ErrBadCredentials
	}
	if len(matched) == 1 {
		return s.openPasswordSession(ctx, &matched[0], l, account)
	}
	return nil, s.selection(ctx, matched, l.DeviceID)
}

// selection builds the select_account answer for the matched accounts.
func (s *Service) selection(ctx context.Context, users []store.User, deviceID string) error {
	e := &SelectAccountError{Accounts: map[string]string{}}
	claims := selectClaims{Users: map[string]string{}, DeviceID: deviceID, Type: "select"}
	var last time.Time
	for _, u := range users {
		o, err := s.st.Organization(ctx, u.OrgID)
		if err != nil {
			return fmt.Errorf("load organization: %w", err)
		}
		e.Accounts[o.ID] = o.Name
		claims.Users[o.ID] = u.ID
		if u.LastLoginAt.After(last) {
			last, e.LastLogin = u.LastLoginAt, o.ID
		}
	}
	now := s.now()
	claims.RegisteredClaims = jwt.RegisteredClaims{Issuer: s.cfg.Issuer, Audience: jwt.ClaimStrings{s.cfg.Audience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(selectionTTL))}
	signed, err := signToken(claims, s.keys.signing())
	if err != nil {
		return fmt.Errorf("sign selection token: %w", err)
	}
	e.Token = signed
	return e
}

// completeSelection logs in the account of l.OrgID named by a selection
// token issued to the same device.
func (s *Service) completeSelection(ctx context.Context, l PasswordLogin) (*Grant, error) {
	if l.OrgID == "" {
		return nil, protocol.Invalid("organization_id", "'organization_id' is required with 'selection_token'")
	}
	var c selectClaims
	if err := s.parseToken(l.SelectionToken, &c, AlgHS256); err != nil || c.Type != "select" || c.DeviceID != l.DeviceID {
		return nil, errBadSelection
	}
	uid, ok := c.Users[l.OrgID]
	if !ok {
		return nil, protocol.Invalid("organization_id", "'organization_id' is not one of the offered accounts")
	}
	u, err := s.st.UserByID(ctx, l.OrgID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadSelection
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	return s.openPasswordSession(ctx, u, l, accountKey(l.OrgID, "id:"+uid))
}

// openPasswordSession opens the session of a password login, after the
// second factor when the user has one, and records it as the account's
// last login. A wrong code counts against account like a wrong password.
func (s *Service) openPasswordSession(ctx context.Context, u *store.User, l PasswordLogin, account string) (*Grant, error) {
	if err := s.secondFactor(ctx, u.ID, l.Code); err != nil {
		if err == ErrTOTPInvalid {
			s.recordAttempt(ctx, account, l.Addr, false)
		}
		return nil, err
	}
	if err := s.st.SetLastLogin(ctx, u.ID, s.now()); err != nil {
		s.log.Warn().Err(err).Str("user", u.ID).Msg("record last login")
	}
	return s.openSession(ctx, u, l.DeviceID, l.Addr, l.UserAgent, withUserAgent(l.Client, l.UserAgent, "password"))
}

// recordAttempt tells the throttle how a login ended and reports ok. The
// outcome is recorded even if the client has gone meanwhile: a caller must
// not dodge the count by hanging up early.
func (s *Service) recordAttempt(ctx context.Context, account, addr string, ok bool) bool {
	tctx := context.WithoutCancel(ctx)
	if !ok {
		if err := s.throttle.Fail(tctx, account, addr); err != nil {
			s.log.Warn().Err(err).Msg("login throttle: record failure")
		}
		return false
	}
	if err := s.throttle.Succeed(tctx, account); err != nil {
		s.log.Warn().Err(err).Msg("login throttle: clear failures")
	}
	return true
}

// accountKey is the throttle key of a login: the organization ("*" when
// none was given) and the identifier, case-folded.
func accountKey(org, ident string) string {
	if org == "" {
		org = "*"
	}
	return org + "\x00" + strings.ToLower(ident)
}

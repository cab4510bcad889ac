package auth

import (
	"context"
	"errors"
	"fmt"
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
// count. One match logs in; several answer SelectAccountError. Every
// account checked reserves an attempt, so leaving organization_id out does
// not open a bucket of its own.
func (s *Service) loginAnyOrg(ctx context.Context, l PasswordLogin) (*Grant, error) {
	users, err := s.st.UsersByIdentifier(ctx, l.Login, maxAccountsPerIdentifier)
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	keys := []Key{addressKey(l.Addr)}
	for _, u := range users {
		if err := s.codeLocked(ctx, u.ID); err != nil {
			return nil, err
		}
		keys = append(keys, accountKey(u.ID, "", ""))
	}
	if len(users) == 0 {
		keys = append(keys, accountKey("", "", l.Login))
	}
	att, err := s.reserve(ctx, keys...)
	if err != nil {
		return nil, err
	}
	matched, err := s.matchPasswords(ctx, users, l.Password)
	if err != nil {
		att.undo(ctx)
		return nil, err
	}
	if len(matched) == 0 {
		att.fail(ctx)
		return nil, protocol.ErrBadCredentials
	}
	att.succeed(ctx) // one right password clears every account it was tried on
	if len(matched) == 1 {
		return s.openPasswordSession(ctx, &matched[0], l)
	}
	return nil, s.selection(ctx, matched, l.DeviceID)
}

// matchPasswords returns the users whose password is pw (a dummy hash when
// there are none, so timing does not tell).
func (s *Service) matchPasswords(ctx context.Context, users []store.User, pw string) ([]store.User, error) {
	if len(users) == 0 {
		_, err := s.verify(ctx, pw, s.dummy)
		return nil, err
	}
	var matched []store.User
	for _, u := range users {
		ok, err := s.verify(ctx, pw, u.PasswordHash)
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, u)
		}
	}
	return matched, nil
}

// selection builds the select_account answer for the matched accounts. Its
// token has an id (jti) so that it can be used once.
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
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(selectionTTL)), ID: store.NewID()}
	signed, err := signToken(claims, s.keys.signing())
	if err != nil {
		return fmt.Errorf("sign selection token: %w", err)
	}
	e.Token = signed
	return e
}

// completeSelection logs in the account of l.OrgID named by a selection
// token issued to the same device. A bad token counts against the address
// like a wrong password (the token itself proves the password, which the
// account's count guarded when it was issued), and a token works once: it
// is spent before the second factor is checked, so each code guess costs a
// fresh, throttled password login. A missing code does not spend it.
func (s *Service) completeSelection(ctx context.Context, l PasswordLogin) (*Grant, error) {
	if l.OrgID == "" {
		return nil, protocol.Invalid("organization_id", "'organization_id' is required with 'selection_token'")
	}
	att, err := s.reserve(ctx, addressKey(l.Addr))
	if err != nil {
		return nil, err
	}
	u, c, err := s.selectedUser(ctx, l)
	if err != nil {
		if errors.Is(err, errBadSelection) {
			att.fail(ctx)
		} else {
			att.undo(ctx)
		}
		return nil, err
	}
	att.succeed(ctx)
	if err := s.needsCode(ctx, u.ID, l.Code); err != nil {
		return nil, err
	}
	fresh, err := s.st.UseOnce(ctx, c.ID, c.ExpiresAt.Time)
	if err != nil {
		return nil, fmt.Errorf("spend selection token: %w", err)
	}
	if !fresh {
		return nil, errBadSelection
	}
	return s.openPasswordSession(ctx, u, l)
}

// selectedUser verifies a selection token for l's device and returns the
// user it offers for l.OrgID.
func (s *Service) selectedUser(ctx context.Context, l PasswordLogin) (*store.User, *selectClaims, error) {
	var c selectClaims
	if err := s.parseToken(l.SelectionToken, &c, AlgHS256); err != nil || c.Type != "select" ||
		c.DeviceID != l.DeviceID || c.ID == "" || c.ExpiresAt == nil {
		return nil, nil, errBadSelection
	}
	uid, ok := c.Users[l.OrgID]
	if !ok {
		return nil, nil, protocol.Invalid("organization_id", "'organization_id' is not one of the offered accounts")
	}
	u, err := s.st.UserByID(ctx, l.OrgID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errBadSelection
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load user: %w", err)
	}
	return u, &c, nil
}

// openPasswordSession opens the session of a password login, after the
// second factor when the user has one, and records it as the account's
// last login.
func (s *Service) openPasswordSession(ctx context.Context, u *store.User, l PasswordLogin) (*Grant, error) {
	if err := s.secondFactor(ctx, u.ID, l.Code, l.Addr); err != nil {
		return nil, err
	}
	if err := s.st.SetLastLogin(ctx, u.ID, s.now()); err != nil {
		s.log.Warn().Err(err).Str("user", u.ID).Msg("record last login")
	}
	return s.openSession(ctx, u, l.DeviceID, l.Addr, l.UserAgent, withUserAgent(l.Client, l.UserAgent, "password"))
}

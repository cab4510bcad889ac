package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// NewUser is a sign-up. OrgID "" means the default organization. Email is
// optional and not format-checked: the official web client sends the login
// as the e-mail. Addr is the client address sign-ups are counted by ("":
// not counted).
type NewUser struct {
	OrgID, Login, Email, Phone, Password, FirstName, LastName string
	DeviceID, Addr                                            string
}

// UserEdit changes the fields that are set. Addr is the client address a
// wrong current password counts against.
type UserEdit struct {
	CurrentPassword, NewPassword             *string
	Email, Phone, Login, FirstName, LastName *string
	AvatarObject                             json.RawMessage
	Addr                                     string
}

// MaxListIDs bounds the id lists a request may carry (get_users_by_ids
// ids, user_search ignore_ids): more is a 422, as SAMA's 100.
const MaxListIDs = 100

// maxKeyword bounds a user_search keyword, in characters: logins have at
// most 40, names 20.
const maxKeyword = 100

// UserSearch is user_search: a case-insensitive prefix of login, first or
// last name.
type UserSearch struct {
	Keyword      string
	Limit        int // 1..100, capped at 30 (SAMA's preload count); 0 = 30
	UpdatedAfter *time.Time
	IgnoreIDs    []string
}

func between(s string, lo, hi int) bool {
	n := utf8.RuneCountInString(s)
	return n >= lo && n <= hi
}

func checkLogin(l string) error {
	if !between(l, 3, 40) {
		return protocol.Invalid("login", protocol.ErrIncorrectLogin.Message)
	}
	return nil
}

func checkPassword(p string) error {
	if !between(p, 3, 40) {
		return protocol.Invalid("password", protocol.ErrIncorrectPassword.Message)
	}
	return nil
}

func checkPhone(p string) error {
	if p != "" && !between(p, 3, 15) {
		return protocol.Invalid("phone", "'phone' must be 3 to 15 characters.")
	}
	return nil
}

func checkName(field, v string) error {
	if v != "" && !between(v, 1, 20) {
		return protocol.Invalid(field, fmt.Sprintf("'%s' max length 20", field))
	}
	return nil
}

// conflict maps a unique violation to SAMA's message.
func conflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return protocol.ErrUserExists
	}
	return err
}

// CreateUser signs a user up (websocket user_create). Cheap refusals come
// first: fields, a full hashing queue (503, before any query), the
// address's sign-up count (every attempt counts), then uniqueness, so only
// a sign-up that can succeed costs a password hash, and that hash waits
// behind every login in the hashing queue.
func (s *Service) CreateUser(ctx context.Context, n NewUser) (*User, error) {
	n.Login = strings.TrimSpace(n.Login)
	for _, err := range []error{checkLogin(n.Login), checkPassword(n.Password), checkPhone(n.Phone),
		checkName("first_name", n.FirstName), checkName("last_name", n.LastName)} {
		if err != nil {
			return nil, err
		}
	}
	if s.hashing.busy(classNew) {
		return nil, protocol.ErrServerBusy
	}
	att, err := s.reserve(ctx, Key{KindSignup, n.Addr})
	if err != nil {
		return nil, err
	}
	u, err := s.newUser(ctx, n)
	if errors.Is(err, protocol.ErrServerBusy) {
		att.undo(ctx) // nothing was created: the client may try again
	}
	if err != nil {
		return nil, err
	}
	return publicUser(u), nil
}

// newUser checks the organization and uniqueness, hashes the password and
// stores the user.
func (s *Service) newUser(ctx context.Context, n NewUser) (*store.User, error) {
	org := orgOrDefault(n.OrgID)
	if _, err := s.st.Organization(ctx, org); errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrOrgNotFound
	} else if err != nil {
		return nil, fmt.Errorf("load organization: %w", err)
	}
	email, phone := strings.TrimSpace(n.Email), strings.TrimSpace(n.Phone)
	taken, err := s.st.UserTaken(ctx, org, "", n.Login, email, phone)
	if err != nil {
		return nil, fmt.Errorf("check uniqueness: %w", err)
	}
	if taken {
		return nil, protocol.ErrUserExists
	}
	hash, err := s.hash(ctx, n.Password)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &store.User{ID: store.NewID(), OrgID: org, Login: n.Login, Email: email, Phone: phone,
		FirstName: n.FirstName, LastName: n.LastName, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateUser(ctx, u); err != nil {
		return nil, conflict(err)
	}
	return u, nil
}

// GetUser returns a user of the organization.
func (s *Service) GetUser(ctx context.Context, orgID, userID string) (*User, error) {
	u, err := s.st.UserByID(ctx, orgID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrIncorrectUser
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	pu := publicUser(u)
	s.activity.overlay(pu)
	return pu, nil
}

// EditUser changes the caller's profile. A new password needs the current
// one, which is throttled like a login (the account's and the address's
// counts), so a stolen access token is no password oracle; changing it
// revokes every other session of the user, so a stolen session does not
// survive a password change.
func (s *Service) EditUser(ctx context.Context, p Principal, e UserEdit) (*User, error) {
	u, err := s.st.UserByID(ctx, p.OrgID, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	passwordChanged := false
	if e.NewPassword != nil {
		if err := s.changePassword(ctx, u, e); err != nil {
			return nil, err
		}
		passwordChanged = true
	}
	if e.Login != nil {
		if err := checkLogin(*e.Login); err != nil {
			return nil, err
		}
		u.Login = *e.Login
	}
	if e.Email != nil {
		u.Email = strings.TrimSpace(*e.Email)
	}
	if e.Phone != nil {
		if err := checkPhone(*e.Phone); err != nil {
			return nil, err
		}
		u.Phone = *e.Phone
	}
	if e.FirstName != nil {
		if err := checkName("first_name", *e.FirstName); err != nil {
			return nil, err
		}
		u.FirstName = *e.FirstName
	}
	if e.LastName != nil {
		if err := checkName("last_name", *e.LastName); err != nil {
			return nil, err
		}
		u.LastName = *e.LastName
	}
	if len(e.AvatarObject) > 0 && string(e.AvatarObject) != "null" {
		u.AvatarObject = e.AvatarObject
	}
	u.UpdatedAt = s.now().UTC()
	if err := s.st.UpdateUser(ctx, u); err != nil {
		return nil, conflict(err)
	}
	if passwordChanged {
		s.revokeOtherSessions(ctx, p)
	}
	return publicUser(u), nil
}

// changePassword checks e's current password under the throttle and puts
// the hash of the new one in u.
func (s *Service) changePassword(ctx context.Context, u *store.User, e UserEdit) error {
	if e.CurrentPassword == nil || *e.CurrentPassword == "" {
		return protocol.ErrWrongCurrentPassword
	}
	if err := checkPassword(*e.NewPassword); err != nil {
		return err // not a guess: nothing is counted
	}
	if err := s.checkCurrentPassword(ctx, u, *e.CurrentPassword, e.Addr); err != nil {
		return err
	}
	var err error
	u.PasswordHash, err = s.hash(ctx, *e.NewPassword)
	return err
}

// checkCurrentPassword verifies that password is u's, counted like a
// login attempt (the account's and addr's failures), so that a holder of
// a stolen access token cannot use it to guess the password.
func (s *Service) checkCurrentPassword(ctx context.Context, u *store.User, password, addr string) error {
	att, err := s.reserve(ctx, accountKey(u.ID, "", ""), addressKey(addr))
	if err != nil {
		return err
	}
	ok, err := s.verify(ctx, password, u.PasswordHash)
	if err != nil {
		att.undo(ctx)
		return err
	}
	if !ok {
		att.fail(ctx)
		return protocol.ErrWrongCurrentPassword
	}
	att.succeed(ctx)
	return nil
}

// revokeOtherSessions ends every session of the user but p's own, by
// session id: the device id is the client's choice, so sharing it must not
// spare a session.
func (s *Service) revokeOtherSessions(ctx context.Context, p Principal) {
	n, err := s.st.RevokeOtherSessions(ctx, p.UserID, p.SessionID, s.now())
	if err != nil {
		s.log.Error().Err(err).Msg("revoke sessions after password change")
		return
	}
	if n > 0 {
		s.endSessions(ctx, SessionEnd{UserID: p.UserID, OrgID: p.OrgID, ExceptSessionID: p.SessionID, Reason: "revoked"})
	}
}

// DeleteUser deletes the caller's account with every session and token.
func (s *Service) DeleteUser(ctx context.Context, p Principal) error {
	if err := s.st.DeleteUser(ctx, p.OrgID, p.UserID); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.endSessions(ctx, SessionEnd{UserID: p.UserID, OrgID: p.OrgID, Reason: "deleted"})
	return nil
}

// SearchUsers finds users of the caller's organization, never the caller.
func (s *Service) SearchUsers(ctx context.Context, p Principal, q UserSearch) ([]User, error) {
	if strings.TrimSpace(q.Keyword) == "" {
		return nil, protocol.FieldRequired("keyword")
	}
	if utf8.RuneCountInString(q.Keyword) > maxKeyword {
		return nil, protocol.Invalid("keyword", fmt.Sprintf("'keyword' max length %d", maxKeyword))
	}
	if len(q.IgnoreIDs) > MaxListIDs {
		return nil, protocol.Invalid("ignore_ids", fmt.Sprintf("'ignore_ids' max length %d", MaxListIDs))
	}
	limit := q.Limit
	if limit <= 0 || limit > 30 {
		limit = 30
	}
	sq := store.UserQuery{Prefix: q.Keyword, ExcludeIDs: append([]string{p.UserID}, q.IgnoreIDs...), Limit: limit}
	if q.UpdatedAfter != nil {
		sq.UpdatedAfter = *q.UpdatedAfter
	}
	us, err := s.st.SearchUsers(ctx, p.OrgID, sq)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return s.withActivity(publicUsers(us)), nil
}

// UsersByIDs returns the users of orgID among ids (at most MaxListIDs),
// _id descending.
func (s *Service) UsersByIDs(ctx context.Context, orgID string, ids []string) ([]User, error) {
	if len(ids) > MaxListIDs {
		return nil, protocol.Invalid("ids", fmt.Sprintf("'ids' max length %d", MaxListIDs))
	}
	us, err := s.st.UsersByIDs(ctx, orgID, ids)
	if err != nil {
		return nil, fmt.Errorf("users by ids: %w", err)
	}
	return s.withActivity(publicUsers(us)), nil
}

// CreatedUnix is the sign-up time in unix seconds.
func (u *User) CreatedUnix() int64 { return u.created.Unix() }

// withActivity overlays this node's pending recent activity.
func (s *Service) withActivity(us []User) []User {
	ps := make([]*User, len(us))
	for i := range us {
		ps[i] = &us[i]
	}
	s.activity.overlay(ps...)
	return us
}

func publicUsers(us []store.User) []User {
	out := make([]User, 0, len(us))
	for i := range us {
		out = append(out, *publicUser(&us[i]))
	}
	return out
}

// Organization is the wire form of an organization (SAMA's admin API).
type Organization struct {
	ID        string `json:"_id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// CreateOrganization creates an organization named name (1-100
// characters, trimmed); its id is generated.
func (s *Service) CreateOrganization(ctx context.Context, name string) (*Organization, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 100 {
		return nil, protocol.Invalid("name", "'name' must be 1 to 100 characters")
	}
	now := s.now().UTC()
	o := &store.Organization{ID: store.NewID(), Name: name, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateOrganization(ctx, o); err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	return &Organization{ID: o.ID, Name: o.Name, CreatedAt: now.Format(isoTime), UpdatedAt: now.Format(isoTime)}, nil
}

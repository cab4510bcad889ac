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
// as the e-mail.
type NewUser struct {
	OrgID, Login, Email, Phone, Password, FirstName, LastName string
	DeviceID                                                  string
}

// UserEdit changes the fields that are set.
type UserEdit struct {
	CurrentPassword, NewPassword             *string
	Email, Phone, Login, FirstName, LastName *string
	AvatarObject                             json.RawMessage
}

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

// CreateUser signs a user up (websocket user_create).
func (s *Service) CreateUser(ctx context.Context, n NewUser) (*User, error) {
	n.Login = strings.TrimSpace(n.Login)
	for _, err := range []error{checkLogin(n.Login), checkPassword(n.Password), checkPhone(n.Phone),
		checkName("first_name", n.FirstName), checkName("last_name", n.LastName)} {
		if err != nil {
			return nil, err
		}
	}
	org := orgOrDefault(n.OrgID)
	if _, err := s.st.Organization(ctx, org); errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrOrgNotFound
	} else if err != nil {
		return nil, fmt.Errorf("load organization: %w", err)
	}
	hash, err := s.hash(ctx, n.Password)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &store.User{ID: store.NewID(), OrgID: org, Login: n.Login, Email: strings.TrimSpace(n.Email),
		Phone: strings.TrimSpace(n.Phone), FirstName: n.FirstName, LastName: n.LastName,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateUser(ctx, u); err != nil {
		return nil, conflict(err)
	}
	return publicUser(u), nil
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
	return publicUser(u), nil
}

// EditUser changes the caller's profile. A new password needs the current
// one; changing it revokes the user's other devices' sessions, so a stolen
// session does not survive a password change.
func (s *Service) EditUser(ctx context.Context, p Principal, e UserEdit) (*User, error) {
	u, err := s.st.UserByID(ctx, p.OrgID, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	passwordChanged := false
	if e.NewPassword != nil {
		if e.CurrentPassword == nil || *e.CurrentPassword == "" {
			return nil, protocol.ErrWrongCurrentPassword
		}
		ok, err := s.verify(ctx, *e.CurrentPassword, u.PasswordHash)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, protocol.ErrWrongCurrentPassword
		}
		if err := checkPassword(*e.NewPassword); err != nil {
			return nil, err
		}
		if u.PasswordHash, err = s.hash(ctx, *e.NewPassword); err != nil {
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
		s.revokeOtherDevices(ctx, p)
	}
	return publicUser(u), nil
}

// revokeOtherDevices ends the user's sessions on every device but p's.
func (s *Service) revokeOtherDevices(ctx context.Context, p Principal) {
	// Sessions are revoked per device; the current device keeps its session.
	now := s.now()
	devices, err := s.st.LiveDevices(ctx, p.UserID, now)
	if err != nil {
		s.log.Error().Err(err).Msg("list sessions for password change")
		return
	}
	for _, d := range devices {
		if d == p.DeviceID {
			continue
		}
		if _, err := s.st.RevokeSessions(ctx, p.UserID, d, now); err != nil {
			s.log.Error().Err(err).Msg("revoke sessions after password change")
			continue
		}
		s.endSessions(ctx, SessionEnd{UserID: p.UserID, OrgID: p.OrgID, DeviceID: d, Reason: "revoked"})
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
	return publicUsers(us), nil
}

// UsersByIDs returns the users of orgID among ids, _id descending.
func (s *Service) UsersByIDs(ctx context.Context, orgID string, ids []string) ([]User, error) {
	us, err := s.st.UsersByIDs(ctx, orgID, ids)
	if err != nil {
		return nil, fmt.Errorf("users by ids: %w", err)
	}
	return publicUsers(us), nil
}

// SetRecentActivity stores when the user's last device disconnected.
func (s *Service) SetRecentActivity(ctx context.Context, userID string, t time.Time) error {
	return s.st.SetRecentActivity(ctx, userID, t.Unix())
}

// CreatedUnix is the sign-up time in unix seconds.
func (u *User) CreatedUnix() int64 { return u.created.Unix() }

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

// Package contacts is a user's private address book (SAMA's contact_*
// methods): rules, limits and the matching of e-mails and phones to the
// users of the owner's organization. It is transport-free; gateway
// decodes requests into Fields and encodes Contact.
//
// Matching is done when contacts are read, not stored: an entry's
// matched_user_id is the user of the owner's organization whose e-mail (or
// phone) has the same case-insensitive key (store/sqlrow.Fold) at the time
// of the reply. A sign-up, an e-mail or phone change or a deleted account
// therefore shows in every address book at once, on every node, with no
// write to anyone's contacts; and no one's contact is ever rewritten to a
// user's new e-mail or phone (SAMA copies it into other people's contacts).
package contacts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// Config bounds what one user can store and ask for; zero values take the
// defaults.
type Config struct {
	// MaxBatch is the most contacts of one contact_batch_add. Default 100.
	MaxBatch int
	// MaxEntries is the most e-mails, and the most phones, of one contact.
	// Default 10.
	MaxEntries int
	// MaxPerUser is the most contacts one user may hold. Default 10,000;
	// negative: no cap.
	MaxPerUser int
	// MaxList is the most contacts of one contact_list reply, and its
	// default limit (SAMA's 100). Default 100.
	MaxList int
}

func (c Config) withDefaults() Config {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 100
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 10
	}
	if c.MaxPerUser == 0 {
		c.MaxPerUser = 10_000
	}
	if c.MaxList <= 0 {
		c.MaxList = 100
	}
	return c
}

// Owner is the user a request acts for; contacts never leave their owner.
type Owner struct {
	UserID, OrgID string
}

// Contact is a contact on the wire. Names and lists not given are omitted,
// as SAMA omits them.
type Contact struct {
	ID             string   `json:"_id"`
	UserID         string   `json:"user_id"`
	OrganizationID string   `json:"organization_id"`
	FirstName      string   `json:"first_name,omitempty"`
	LastName       string   `json:"last_name,omitempty"`
	Company        string   `json:"company,omitempty"`
	Email          *[]Entry `json:"email,omitempty"`
	Phone          *[]Entry `json:"phone,omitempty"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
}

// Entry is one e-mail or phone on the wire; MatchedUserID is set when a
// user of the owner's organization has it.
type Entry struct {
	Type          string `json:"type,omitempty"`
	Value         string `json:"value"`
	MatchedUserID string `json:"matched_user_id,omitempty"`
}

// Query selects contacts by their last change (SAMA's limit and
// updated_at; lt is samagate's, for paging back).
type Query struct {
	Limit         int
	UpdatedAfter  time.Time
	UpdatedBefore time.Time
}

// Service serves address books from a store.
type Service struct {
	st  store.Contacts
	cfg Config
	now func() time.Time
}

// New builds a Service.
func New(st store.Contacts, cfg Config) *Service {
	return &Service{st: st, cfg: cfg.withDefaults(), now: time.Now}
}

// Add stores one contact. It needs an e-mail or phone list and a first or
// last name.
func (s *Service) Add(ctx context.Context, o Owner, f Fields) (*Contact, error) {
	c, err := s.check(f, "", true)
	if err != nil {
		return nil, err
	}
	out, err := s.add(ctx, o, []checked{c})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// AddBatch stores contacts in one transaction: all, or none when one is
// invalid (its error names it) or the owner's cap would be passed.
func (s *Service) AddBatch(ctx context.Context, o Owner, fs *[]Fields) ([]Contact, error) {
	if fs == nil {
		return nil, protocol.Invalid("contacts", `"contacts" is required`)
	}
	if len(*fs) > s.cfg.MaxBatch {
		return nil, protocol.Invalid("contacts", fmt.Sprintf(`"contacts" must contain less than or equal to %d items`, s.cfg.MaxBatch))
	}
	cs := make([]checked, len(*fs))
	for i, f := range *fs {
		var err error
		if cs[i], err = s.check(f, fmt.Sprintf("contacts[%d].", i), true); err != nil {
			return nil, err
		}
	}
	if len(cs) == 0 {
		return []Contact{}, nil
	}
	return s.add(ctx, o, cs)
}

func (s *Service) add(ctx context.Context, o Owner, cs []checked) ([]Contact, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	rows := make([]store.Contact, len(cs))
	for i, c := range cs {
		rows[i] = store.Contact{ID: store.NewID(), OrgID: o.OrgID, OwnerID: o.UserID,
			FirstName: deref(c.firstName), LastName: deref(c.lastName), Company: deref(c.company),
			Email: derefEntries(c.email), Phone: derefEntries(c.phone), CreatedAt: now, UpdatedAt: now}
	}
	err := s.st.AddContacts(ctx, o.UserID, rows, max(s.cfg.MaxPerUser, 0))
	switch {
	case errors.Is(err, store.ErrLimit):
		return nil, protocol.ErrContactLimit
	case errors.Is(err, store.ErrNotFound): // the account was deleted meanwhile
		return nil, protocol.ErrUnauthorized
	case err != nil:
		return nil, err
	}
	return s.wire(ctx, o, rows)
}

// Update changes the given fields of the owner's contact id (and its
// updated_at, so contact_list with updated_at finds the change).
func (s *Service) Update(ctx context.Context, o Owner, id string, f Fields) (*Contact, error) {
	if id == "" {
		return nil, protocol.ErrContactIDMissed
	}
	c, err := s.check(f, "", false)
	if err != nil {
		return nil, err
	}
	row, err := s.st.UpdateContact(ctx, o.UserID, id, store.ContactUpdate{FirstName: c.firstName, LastName: c.lastName,
		Company: c.company, Email: c.email, Phone: c.phone, UpdatedAt: s.now().UTC().Truncate(time.Millisecond)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrContactNotFound
	}
	if err != nil {
		return nil, err
	}
	out, err := s.wire(ctx, o, []store.Contact{*row})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// Delete removes the owner's contact id. An id the owner does not hold is
// not an error (SAMA answers success), so nothing tells whose ids exist.
func (s *Service) Delete(ctx context.Context, o Owner, id string) error {
	if id == "" {
		return protocol.ErrContactIDMissed
	}
	if err := s.st.DeleteContact(ctx, o.UserID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// List returns the owner's contacts, the latest changed first, at most
// MaxList (a larger or missing limit takes MaxList).
func (s *Service) List(ctx context.Context, o Owner, q Query) ([]Contact, error) {
	limit := q.Limit
	if limit <= 0 || limit > s.cfg.MaxList {
		limit = s.cfg.MaxList
	}
	rows, err := s.st.ListContacts(ctx, o.UserID, store.ContactQuery{Limit: limit,
		UpdatedAfter: q.UpdatedAfter, UpdatedBefore: q.UpdatedBefore})
	if err != nil {
		return nil, err
	}
	return s.wire(ctx, o, rows)
}

// isoTime is how SAMA's dates look on the wire.
const isoTime = "2006-01-02T15:04:05.000Z"

// wire turns stored contacts into wire ones, matching their entries to the
// users of the owner's organization in one look-up.
func (s *Service) wire(ctx context.Context, o Owner, rows []store.Contact) ([]Contact, error) {
	var emails, phones []string
	for _, r := range rows {
		for _, e := range r.Email {
			emails = append(emails, sqlrow.Fold(e.Value))
		}
		for _, e := range r.Phone {
			phones = append(phones, sqlrow.Fold(e.Value))
		}
	}
	byEmail, byPhone, err := s.st.ContactMatches(ctx, o.OrgID, dedupe(emails), dedupe(phones))
	if err != nil {
		return nil, err
	}
	out := make([]Contact, len(rows))
	for i, r := range rows {
		out[i] = Contact{ID: r.ID, UserID: r.OwnerID, OrganizationID: r.OrgID, FirstName: r.FirstName,
			LastName: r.LastName, Company: r.Company, Email: matched(r.Email, byEmail), Phone: matched(r.Phone, byPhone),
			CreatedAt: r.CreatedAt.UTC().Format(isoTime), UpdatedAt: r.UpdatedAt.UTC().Format(isoTime)}
	}
	return out, nil
}

func matched(es []store.ContactEntry, users map[string]string) *[]Entry {
	if es == nil {
		return nil
	}
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry{Type: e.Type, Value: e.Value, MatchedUserID: users[sqlrow.Fold(e.Value)]}
	}
	return &out
}

func dedupe(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := keys[:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefEntries(es *[]store.ContactEntry) []store.ContactEntry {
	if es == nil {
		return nil
	}
	return *es
}

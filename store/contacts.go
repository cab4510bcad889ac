package store

import (
	"context"
	"errors"
	"time"
)

// ErrLimit: a write would take an owner past a cap it was given.
var ErrLimit = errors.New("limit reached")

// ContactEntry is one e-mail or phone of a contact, as its owner wrote it:
// Type is the owner's label ("work", "home"; "" = none).
type ContactEntry struct {
	Type  string `json:"type,omitempty"`
	Value string `json:"value"`
}

// Contact is one entry of a user's private address book. Empty names and
// a nil Email or Phone mean "not given" (SAMA omits those keys); an empty
// non-nil list was given empty.
type Contact struct {
	ID, OrgID, OwnerID           string
	FirstName, LastName, Company string
	Email, Phone                 []ContactEntry
	CreatedAt, UpdatedAt         time.Time
}

// ContactUpdate changes the fields that are not nil, and sets UpdatedAt.
type ContactUpdate struct {
	FirstName, LastName, Company *string
	Email, Phone                 *[]ContactEntry
	UpdatedAt                    time.Time
}

// ContactQuery selects an owner's contacts by their last change, newest
// first (ties: the later added first).
type ContactQuery struct {
	UpdatedAfter  time.Time // zero: no bound
	UpdatedBefore time.Time // zero: no bound
	Limit         int
}

// Contacts stores address books. Matching contacts to users is done when
// they are read (ContactMatches), so sign-ups, e-mail or phone changes and
// deletions of users need no write to anyone's contacts.
type Contacts interface {
	// AddContacts stores cs, all owned by ownerID, in one transaction:
	// ErrLimit, storing none, when the owner would then hold more than max
	// contacts (max <= 0: no cap); ErrNotFound when the owner does not exist.
	AddContacts(ctx context.Context, ownerID string, cs []Contact, max int) error
	// UpdateContact applies u to the owner's contact id and returns it;
	// ErrNotFound when the owner has no such contact.
	UpdateContact(ctx context.Context, ownerID, id string, u ContactUpdate) (*Contact, error)
	// DeleteContact removes the owner's contact id; ErrNotFound when the
	// owner has no such contact.
	DeleteContact(ctx context.Context, ownerID, id string) error
	// ListContacts returns the owner's contacts selected by q.
	ListContacts(ctx context.Context, ownerID string, q ContactQuery) ([]Contact, error)
	// ContactMatches finds the users of orgID whose e-mail key
	// (sqlrow.Fold) is among emails and whose phone key is among phones,
	// as key -> user id.
	ContactMatches(ctx context.Context, orgID string, emails, phones []string) (byEmail, byPhone map[string]string, err error)
}

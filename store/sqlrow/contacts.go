package sqlrow

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/samagate/samagate/store"
)

// ContactCols are the columns Contact reads, in order.
const ContactCols = `id, org_id, owner_id, first_name, last_name, company, email, phone, created_at, updated_at`

// Contact scans a row of ContactCols.
func Contact(r Scanner) (*store.Contact, error) {
	var c store.Contact
	var first, last, company, email, phone sql.NullString
	var created, updated int64
	if err := r.Scan(&c.ID, &c.OrgID, &c.OwnerID, &first, &last, &company, &email, &phone, &created, &updated); err != nil {
		return nil, err
	}
	c.FirstName, c.LastName, c.Company = first.String, last.String, company.String
	var err error
	if c.Email, err = entries(email); err != nil {
		return nil, err
	}
	if c.Phone, err = entries(phone); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = FromMS(created), FromMS(updated)
	return &c, nil
}

func entries(v sql.NullString) ([]store.ContactEntry, error) {
	if !v.Valid {
		return nil, nil
	}
	out := []store.ContactEntry{}
	if err := json.Unmarshal([]byte(v.String), &out); err != nil {
		return nil, fmt.Errorf("contact entries: %w", err)
	}
	return out, nil
}

// Entries is the stored form of a contact's e-mails or phones: NULL when
// not given, else a JSON list.
func Entries(es []store.ContactEntry) any {
	if es == nil {
		return nil
	}
	b, _ := json.Marshal(es) // strings only: cannot fail
	return string(b)
}

// EntriesPtr is Entries of an optional change: NULL (keep) when nil.
func EntriesPtr(es *[]store.ContactEntry) any {
	if es == nil {
		return nil
	}
	if *es == nil {
		return "[]"
	}
	return Entries(*es)
}

// StringPtr is an optional change of a text column: NULL (keep) when nil.
func StringPtr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

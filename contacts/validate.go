package contacts

import (
	"fmt"
	"unicode/utf8"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// Fields are a contact's fields as a request gives them; nil = not given.
type Fields struct {
	FirstName *string     `json:"first_name"`
	LastName  *string     `json:"last_name"`
	Company   *string     `json:"company"`
	Email     *[]EntryArg `json:"email"`
	Phone     *[]EntryArg `json:"phone"`
}

// EntryArg is one e-mail or phone as a request gives it; numbers are taken
// as their text (clients send phones either way).
type EntryArg struct {
	Type  *protocol.FlexString `json:"type"`
	Value *protocol.FlexString `json:"value"`
}

// SAMA's bounds on names (Joi string min 2, max 255), and samagate's on an
// entry's type and value, which SAMA leaves unbounded.
const (
	minName     = 2
	maxName     = 255
	maxEntryLen = 255
)

// checked is a contact's fields once valid.
type checked struct {
	firstName, lastName, company *string
	email, phone                 *[]store.ContactEntry
}

// check validates f in SAMA's (Joi's) order: each field in turn, then, for
// a new contact (required), at least one of email and phone, then at least
// one of first_name and last_name. path prefixes the field names of
// messages ("contacts[2]." in a batch).
func (s *Service) check(f Fields, path string, required bool) (checked, error) {
	var c checked
	for _, n := range []struct {
		name string
		v    *string
		dst  **string
	}{{"first_name", f.FirstName, &c.firstName}, {"last_name", f.LastName, &c.lastName}, {"company", f.Company, &c.company}} {
		if n.v == nil {
			continue
		}
		if err := checkString(path+n.name, *n.v, minName, maxName); err != nil {
			return c, err
		}
		*n.dst = n.v
	}
	var err error
	if c.email, err = s.checkEntries(path+"email", f.Email); err != nil {
		return c, err
	}
	if c.phone, err = s.checkEntries(path+"phone", f.Phone); err != nil {
		return c, err
	}
	if required && c.email == nil && c.phone == nil {
		return c, protocol.ErrContactEmailOrPhone
	}
	if required && c.firstName == nil && c.lastName == nil {
		return c, protocol.ErrContactNameMissed
	}
	return c, nil
}

// checkEntries validates a list of e-mails or phones.
func (s *Service) checkEntries(name string, es *[]EntryArg) (*[]store.ContactEntry, error) {
	if es == nil {
		return nil, nil
	}
	if len(*es) > s.cfg.MaxEntries {
		return nil, protocol.Invalid(name, fmt.Sprintf("%q must contain less than or equal to %d items", name, s.cfg.MaxEntries))
	}
	out := make([]store.ContactEntry, len(*es))
	for i, e := range *es {
		at := fmt.Sprintf("%s[%d]", name, i)
		if e.Type != nil {
			if err := checkString(at+".type", string(*e.Type), 1, maxEntryLen); err != nil {
				return nil, err
			}
			out[i].Type = string(*e.Type)
		}
		if e.Value == nil {
			return nil, protocol.Invalid(at+".value", fmt.Sprintf("%q is required", at+".value"))
		}
		if err := checkString(at+".value", string(*e.Value), 1, maxEntryLen); err != nil {
			return nil, err
		}
		out[i].Value = string(*e.Value)
	}
	return &out, nil
}

// checkString is Joi's string().min(lo).max(hi), in characters.
func checkString(name, v string, lo, hi int) error {
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0:
		return protocol.Invalid(name, fmt.Sprintf("%q is not allowed to be empty", name))
	case n < lo:
		return protocol.Invalid(name, fmt.Sprintf("%q length must be at least %d characters long", name, lo))
	case n > hi:
		return protocol.Invalid(name, fmt.Sprintf("%q length must be less than or equal to %d characters long", name, hi))
	}
	return nil
}

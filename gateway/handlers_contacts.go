package gateway

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/samagate/samagate/contacts"
	"github.com/samagate/samagate/protocol"
)

// Contacts is what the gateway needs from contacts (implemented by
// *contacts.Service): a user's private address book.
type Contacts interface {
	Add(ctx context.Context, o contacts.Owner, f contacts.Fields) (*contacts.Contact, error)
	AddBatch(ctx context.Context, o contacts.Owner, fs *[]contacts.Fields) ([]contacts.Contact, error)
	Update(ctx context.Context, o contacts.Owner, id string, f contacts.Fields) (*contacts.Contact, error)
	List(ctx context.Context, o contacts.Owner, q contacts.Query) ([]contacts.Contact, error)
	Delete(ctx context.Context, o contacts.Owner, id string) error
}

// owner is the address book a request acts on: always the caller's.
func owner(c call) contacts.Owner {
	return contacts.Owner{UserID: c.p.UserID, OrgID: c.p.OrgID}
}

// contactsOrNot is the contacts service, or ErrNotSupported when the node
// has none.
func (g *Gateway) contactsOrNot() (Contacts, error) {
	if g.cfg.Contacts == nil {
		return nil, protocol.ErrNotSupported
	}
	return g.cfg.Contacts, nil
}

// handleContactAdd: {first_name?, last_name?, company?, email?, phone?} -> {"contact":{..}}
func (g *Gateway) handleContactAdd(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	cs, err := g.contactsOrNot()
	if err != nil {
		return nil, err
	}
	var prm contacts.Fields
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	ct, err := cs.Add(ctx, owner(c), prm)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("contact", ct))
}

// handleContactBatchAdd: {contacts:[{..}]} -> {"contacts":[..]}
func (g *Gateway) handleContactBatchAdd(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	cs, err := g.contactsOrNot()
	if err != nil {
		return nil, err
	}
	var prm struct {
		Contacts *[]contacts.Fields `json:"contacts"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	out, err := cs.AddBatch(ctx, owner(c), prm.Contacts)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("contacts", out))
}

// handleContactUpdate: {id, first_name?, last_name?, company?, email?, phone?} -> {"contact":{..}}
func (g *Gateway) handleContactUpdate(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	cs, err := g.contactsOrNot()
	if err != nil {
		return nil, err
	}
	var prm struct {
		ID json.RawMessage `json:"id"`
		contacts.Fields
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	ct, err := cs.Update(ctx, owner(c), contactID(prm.ID), prm.Fields)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("contact", ct))
}

// handleContactList: {limit?, updated_at?: <date> | {gt?, lt?}} -> {"contacts":[..]}
func (g *Gateway) handleContactList(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	cs, err := g.contactsOrNot()
	if err != nil {
		return nil, err
	}
	var prm struct {
		Limit     int          `json:"limit"`
		UpdatedAt contactSince `json:"updated_at"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	before, after := prm.UpdatedAt.bounds()
	out, err := cs.List(ctx, owner(c), contacts.Query{Limit: prm.Limit, UpdatedAfter: after, UpdatedBefore: before})
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("contacts", out))
}

// handleContactDelete: {id} -> {"success":true}
func (g *Gateway) handleContactDelete(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	cs, err := g.contactsOrNot()
	if err != nil {
		return nil, err
	}
	var prm struct {
		ID json.RawMessage `json:"id"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if err := cs.Delete(ctx, owner(c), contactID(prm.ID)); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// contactID is a contact id as SAMA takes it: a JSON string; anything else
// (missing, a number, an object) is "" and answered "Contact id is missed.".
func contactID(raw json.RawMessage) string {
	var id string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &id) != nil {
		return ""
	}
	return id
}

// contactSince is contact_list's updated_at: SAMA's date (contacts changed
// after it), or samagate's {gt, lt} as in conversation_list.
type contactSince struct{ timeRange }

// UnmarshalJSON implements json.Unmarshaler.
func (r *contactSince) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, &r.timeRange)
	}
	var t protocol.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	if !t.IsZero() {
		r.Gt = &t
	}
	return nil
}

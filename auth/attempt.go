package auth

import (
	"context"
	"errors"
	"strings"
)

// attempt is one reservation taken from a throttle before the work it
// guards; it is settled once, as a failure, a success or undone.
type attempt struct {
	s    *Service
	th   Throttle // the backend that took it
	keys []Key
}

// accountKey is the throttle key of an account: its user id, so the login,
// the e-mail and userId, with or without organization_id, all count in one
// bucket. An identifier no account has counts under its organization and
// its lower case, like an account, so a 429 does not tell which exist.
func accountKey(userID, org, ident string) Key {
	if userID != "" {
		return Key{KindAccount, userID}
	}
	if org == "" {
		org = "*"
	}
	return Key{KindAccount, "?" + org + "\x00" + strings.ToLower(ident)}
}

// addressKey is the throttle key of a client address ("" is not counted).
func addressKey(addr string) Key { return Key{KindAddress, addr} }

// reserve takes one attempt from each key that has a limit ("" addresses
// and disabled limits are skipped). When the shared throttle cannot answer,
// this node's memory throttle counts the attempt instead: a blinking Redis
// neither refuses every login nor lifts the limits (they then hold per
// node).
func (s *Service) reserve(ctx context.Context, keys ...Key) (*attempt, error) {
	var use []Key
	for _, k := range keys {
		if (k.Kind == KindAddress || k.Kind == KindSignup) && k.ID == "" {
			continue
		}
		if s.cfg.Throttle.Limit(k.Kind).Max > 0 {
			use = append(use, k)
		}
	}
	a := &attempt{s: s, th: s.throttle, keys: use}
	if len(use) == 0 {
		return a, nil
	}
	err := a.th.Reserve(ctx, use...)
	if _, throttled := errors.AsType[*ThrottledError](err); err != nil && !throttled && a.th != s.local {
		s.log.Warn().Err(err).Msg("shared throttle unavailable; counting this attempt on this node")
		a.th = s.local
		err = a.th.Reserve(ctx, use...)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// fail settles the attempt as a failure of every key. Settling outlives
// the request: a client must not dodge the count by hanging up early.
func (a *attempt) fail(ctx context.Context) {
	if len(a.keys) == 0 {
		return
	}
	if err := a.th.Fail(context.WithoutCancel(ctx), a.keys...); err != nil {
		a.s.log.Warn().Err(err).Msg("throttle: record failure")
	}
}

// succeed settles the attempt as a success: accounts and second factors
// forget their failures, addresses get the attempt back (they count
// failures only).
func (a *attempt) succeed(ctx context.Context) {
	var clear, refund []Key
	for _, k := range a.keys {
		switch k.Kind {
		case KindAccount, KindSecondFactor:
			clear = append(clear, k)
		case KindAddress:
			refund = append(refund, k)
		}
	}
	ctx = context.WithoutCancel(ctx)
	if len(clear) > 0 {
		if err := a.th.Clear(ctx, clear...); err != nil {
			a.s.log.Warn().Err(err).Msg("throttle: clear failures")
		}
	}
	a.undoKeys(ctx, refund)
}

// undo gives the attempt back to every key: the work it guarded never ran
// (the hashing queue was full, the store failed), so nothing was guessed.
func (a *attempt) undo(ctx context.Context) { a.undoKeys(context.WithoutCancel(ctx), a.keys) }

func (a *attempt) undoKeys(ctx context.Context, keys []Key) {
	if len(keys) == 0 {
		return
	}
	if err := a.th.Refund(ctx, keys...); err != nil {
		a.s.log.Warn().Err(err).Msg("throttle: refund attempt")
	}
}

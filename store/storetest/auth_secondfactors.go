package storetest

import (
	"errors"
	"testing"

	"github.com/samagate/samagate/store"
)

// secondFactors: TOTP state, the atomic step guard, confirmation with its
// recovery codes in one step, codes found by selector and used once, and
// removal with the user.
func secondFactors(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "twofa", "", ""))
	if got, err := s.TOTP(ctx, u.ID); err != nil || got != (store.TOTP{}) {
		t.Fatalf("no totp: got %+v, %v", got, err)
	}
	codes := []store.RecoveryCode{{Selector: "s1", Hash: "h1"}, {Selector: "s2", Hash: "h2"}}
	if err := s.ConfirmTOTP(ctx, u.ID, "ABC", 9, codes); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("confirm without enrollment: got %v, want ErrNotFound", err)
	}
	if err := s.SetTOTP(ctx, u.ID, store.TOTP{Secret: "ABC"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, "OTHER", 9, codes); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("confirm of another secret (enrolled again meanwhile): got %v, want ErrNotFound", err)
	}
	if _, err := s.RecoveryCode(ctx, u.ID, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("codes of a refused confirmation: got %v, want ErrNotFound", err)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, "ABC", 9, codes); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TOTP(ctx, u.ID); got != (store.TOTP{Secret: "ABC", Enabled: true, LastStep: 9}) {
		t.Fatalf("totp after confirm: got %+v", got)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, "ABC", 10, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second confirm: got %v, want ErrNotFound", err)
	}
	for i, c := range []struct {
		step int64
		ok   bool
	}{{10, true}, {10, false}, {9, false}, {11, true}} {
		if ok, err := s.UseTOTPStep(ctx, u.ID, c.step); err != nil || ok != c.ok {
			t.Fatalf("use %d (%d): got %v, %v; want %v", c.step, i, ok, err, c.ok)
		}
	}
	if h, err := s.RecoveryCode(ctx, u.ID, "s2"); err != nil || h != "h2" {
		t.Fatalf("code by selector: got %q, %v", h, err)
	}
	if ok, err := s.UseRecoveryCode(ctx, u.ID, "h1"); err != nil || !ok {
		t.Fatalf("use h1: %v %v", ok, err)
	}
	if ok, _ := s.UseRecoveryCode(ctx, u.ID, "h1"); ok {
		t.Fatal("h1 used twice")
	}
	if _, err := s.RecoveryCode(ctx, u.ID, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("used code by selector: got %v, want ErrNotFound", err)
	}
	if err := s.SetTOTP(ctx, u.ID, store.TOTP{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecoveryCode(ctx, u.ID, "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("code after removal: got %v, want ErrNotFound", err)
	}
	if err := s.SetTOTP(ctx, u.ID, store.TOTP{Secret: "X", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, store.DefaultOrg, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TOTP(ctx, u.ID); got != (store.TOTP{}) {
		t.Fatalf("totp outlived its user: %+v", got)
	}
}

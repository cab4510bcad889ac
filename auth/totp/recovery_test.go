package totp

import (
	"regexp"
	"strings"
	"testing"
)

func TestNewRecoveryCodes(t *testing.T) {
	codes, err := NewRecoveryCodes(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 {
		t.Fatalf("got %d codes, want 10", len(codes))
	}
	format := regexp.MustCompile(`^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$`)
	seen := map[string]bool{}
	for _, c := range codes {
		if !format.MatchString(c) {
			t.Errorf("code %q does not match %s", c, format)
		}
		if strings.ContainsAny(c, "01oil") {
			t.Errorf("code %q has an ambiguous character", c)
		}
		if seen[c] {
			t.Errorf("duplicate code %q", c)
		}
		seen[c] = true
	}
	if _, err := NewRecoveryCodes(0); err == nil {
		t.Error("n=0: no error")
	}
}

func TestHashRecoveryCode(t *testing.T) {
	want := HashRecoveryCode("abcde-fghjk")
	if len(want) != 64 || strings.ToLower(want) != want {
		t.Errorf("hash %q: want 64 lower-case hex characters", want)
	}
	for _, in := range []string{"abcdefghjk", "ABCDE-FGHJK", " abcde fghjk ", "ab-cde-fg hjk", "AbCdE\tFgHjK"} {
		if got := HashRecoveryCode(in); got != want {
			t.Errorf("HashRecoveryCode(%q) = %s, want %s", in, got, want)
		}
	}
	if HashRecoveryCode("abcde-fghjm") == want {
		t.Error("different codes hash the same")
	}
}

func TestMatchRecoveryCode(t *testing.T) {
	codes, err := NewRecoveryCodes(10)
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = HashRecoveryCode(c)
	}
	typed := " " + strings.ToUpper(strings.ReplaceAll(codes[3], "-", " ")) + " "
	if i, ok := MatchRecoveryCode(typed, hashes); !ok || i != 3 {
		t.Errorf("match %q: got (%d, %v), want (3, true)", typed, i, ok)
	}
	if i, ok := MatchRecoveryCode(codes[7], hashes); !ok || i != 7 {
		t.Errorf("match %q: got (%d, %v), want (7, true)", codes[7], i, ok)
	}
	others, err := NewRecoveryCodes(1)
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := MatchRecoveryCode(others[0], hashes); ok || i != -1 {
		t.Errorf("unrelated code matched at %d", i)
	}
	if i, ok := MatchRecoveryCode(" - ", append(hashes, HashRecoveryCode(""))); ok {
		t.Errorf("empty code matched at %d", i)
	}
	if _, ok := MatchRecoveryCode(codes[0], nil); ok {
		t.Error("matched against no hashes")
	}
}

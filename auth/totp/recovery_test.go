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
	group := `[2-9a-hjkmnp-z]{5}`
	format := regexp.MustCompile(`^` + group + `-` + group + `-` + group + `-` + group + `$`)
	seen := map[string]bool{}
	for _, c := range codes {
		if !format.MatchString(c) {
			t.Errorf("code %q does not match %s", c, format)
		}
		if strings.ContainsAny(c, "01oil") {
			t.Errorf("code %q has an ambiguous character", c)
		}
		sel, ok := RecoverySelector(c)
		if !ok || sel != c[:5] {
			t.Errorf("selector of %q: got %q, %v", c, sel, ok)
		}
		if seen[sel] {
			t.Errorf("duplicate selector %q", sel)
		}
		seen[sel] = true
	}
	if _, err := NewRecoveryCodes(0); err == nil {
		t.Error("n=0: no error")
	}
}

func TestRecoveryCodeForms(t *testing.T) {
	const issued = "abcde-fghjk-mnpqr-stuvw"
	for _, in := range []string{issued, "abcdefghjkmnpqrstuvw", " ABCDE FGHJK MNPQR STUVW ", "ab-cde-fg hjk-mnpqrstu\tvw"} {
		if got := NormalizeRecoveryCode(in); got != "abcdefghjkmnpqrstuvw" {
			t.Errorf("NormalizeRecoveryCode(%q) = %q", in, got)
		}
		if sel, ok := RecoverySelector(in); !ok || sel != "abcde" {
			t.Errorf("RecoverySelector(%q) = %q, %v", in, sel, ok)
		}
	}
	for _, bad := range []string{"", "123456", "abcde-fghjk", "abcde-fghjk-mnpqr-stuv", "abcde-fghjk-mnpqr-stuvwx", "abcde-fghjk-mnpqr-stuv1"} {
		if _, ok := RecoverySelector(bad); ok {
			t.Errorf("RecoverySelector(%q): want no selector", bad)
		}
	}
	want, ok := LegacyRecoveryHash("abcde-fghjk")
	if !ok || len(want) != 64 || strings.ToLower(want) != want {
		t.Fatalf("legacy hash %q, %v: want 64 lower-case hex characters", want, ok)
	}
	for _, in := range []string{"abcdefghjk", "ABCDE-FGHJK", " abcde fghjk "} {
		if got, ok := LegacyRecoveryHash(in); !ok || got != want {
			t.Errorf("LegacyRecoveryHash(%q) = %s, want %s", in, got, want)
		}
	}
	if _, ok := LegacyRecoveryHash(issued); ok {
		t.Error("a current code read as a legacy one")
	}
}

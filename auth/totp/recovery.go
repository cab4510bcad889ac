package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

// DefaultRecoveryCodes is how many recovery codes to issue at enrolment.
const DefaultRecoveryCodes = 10

// recoveryAlphabet leaves out 0/o, 1/i/l so a code read off paper cannot
// be mistyped; 31 symbols give about 4.95 bits each.
const recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// Recovery codes are recoveryGroups groups of groupLen symbols,
// "xxxxx-xxxxx-xxxxx-xxxxx": 20 symbols, about 99 bits. The first group is
// the selector, which finds the stored code without being secret (codes of
// one user have distinct selectors); the other 15 symbols (about 74 bits)
// stay secret behind a password hash of the whole code.
const (
	groupLen       = 5
	recoveryGroups = 4
	recoveryLen    = groupLen * recoveryGroups
	// legacyLen is the length of codes issued before selectors, two groups,
	// stored as an unsalted SHA-256; they keep working until used.
	legacyLen = 2 * groupLen
)

// NewRecoveryCodes returns n single-use codes with distinct selectors,
// "xxxxx-xxxxx-xxxxx-xxxxx" in lower case, for a user who has lost their
// authenticator. Show them once; store the selector and a password hash of
// NormalizeRecoveryCode of each.
func NewRecoveryCodes(n int) (codes []string, err error) {
	if n <= 0 {
		return nil, fmt.Errorf("totp: recovery codes: count %d must be positive", n)
	}
	seen := make(map[string]bool, n)
	codes = make([]string, 0, n)
	for len(codes) < n {
		c, err := newRecoveryCode()
		if err != nil {
			return nil, fmt.Errorf("totp: recovery codes: %w", err)
		}
		if sel := c[:groupLen]; !seen[sel] {
			seen[sel] = true
			codes = append(codes, c)
		}
	}
	return codes, nil
}

// newRecoveryCode draws recoveryLen uniform symbols by rejection sampling,
// so no symbol is likelier than another, and groups them with dashes.
func newRecoveryCode() (string, error) {
	const limit = 256 - 256%len(recoveryAlphabet)
	out := make([]byte, 0, recoveryLen+recoveryGroups-1)
	var buf [64]byte
	n := 0
	for {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			if n > 0 && n%groupLen == 0 {
				out = append(out, '-')
			}
			out = append(out, recoveryAlphabet[int(b)%len(recoveryAlphabet)])
			if n++; n == recoveryLen {
				return string(out), nil
			}
		}
	}
}

// NormalizeRecoveryCode makes the typed form match the issued one whatever
// the case, spacing or dashes: the form to hash and to check.
func NormalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
}

// RecoverySelector returns the selector of a typed recovery code (its first
// group), or false when code does not have the shape of a current code.
func RecoverySelector(code string) (string, bool) {
	n := NormalizeRecoveryCode(code)
	if len(n) != recoveryLen || strings.Trim(n, recoveryAlphabet) != "" {
		return "", false
	}
	return n[:groupLen], true
}

// LegacyRecoveryHash returns the stored form of a code issued before
// selectors (two groups, unsalted SHA-256 of the normalized code), or false
// when code does not have that shape. Such codes are only checked, never
// issued any more.
func LegacyRecoveryHash(code string) (string, bool) {
	n := NormalizeRecoveryCode(code)
	if len(n) != legacyLen || strings.Trim(n, recoveryAlphabet) != "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(n))
	return hex.EncodeToString(sum[:]), true
}

package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
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

// recoveryLen is the symbols per code, about 50 bits in all.
const recoveryLen = 10

// NewRecoveryCodes returns n distinct single-use codes, "xxxxx-xxxxx" in
// lower case, for a user who has lost their authenticator. Show them once
// and store only HashRecoveryCode of each.
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
		if seen[c] {
			continue
		}
		seen[c] = true
		codes = append(codes, c)
	}
	return codes, nil
}

// newRecoveryCode draws recoveryLen uniform symbols by rejection sampling,
// so no symbol is likelier than another.
func newRecoveryCode() (string, error) {
	const limit = 256 - 256%len(recoveryAlphabet)
	out := make([]byte, 0, recoveryLen+1)
	var buf [32]byte
	for {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			if len(out) == recoveryLen/2 {
				out = append(out, '-')
			}
			out = append(out, recoveryAlphabet[int(b)%len(recoveryAlphabet)])
			if len(out) == recoveryLen+1 {
				return string(out), nil
			}
		}
	}
}

// normalizeRecoveryCode makes the typed form match the issued one whatever
// the case, spacing or dashes.
func normalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
}

// HashRecoveryCode returns the hex SHA-256 of the normalized code, the form
// to store. A fast unsalted hash is acceptable here, unlike for passwords:
// codes are random with about 50 bits of entropy, not chosen by people, and
// each is single-use, so guessing from a leaked hash is not practical.
func HashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte(normalizeRecoveryCode(code)))
	return hex.EncodeToString(sum[:])
}

// MatchRecoveryCode reports which of hashes code matches, so the caller can
// delete that hash and the code cannot be used again. Each comparison is
// constant-time and every hash is compared, so timing reveals neither the
// hash nor its position. An empty code never matches.
func MatchRecoveryCode(code string, hashes []string) (index int, ok bool) {
	index = -1
	if normalizeRecoveryCode(code) == "" {
		return index, false
	}
	h := []byte(HashRecoveryCode(code))
	for i, want := range hashes {
		if subtle.ConstantTimeCompare(h, []byte(want)) == 1 && !ok {
			index, ok = i, true
		}
	}
	return index, ok
}

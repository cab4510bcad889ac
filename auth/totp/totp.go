// Package totp holds the building blocks of two-factor login: time-based
// one-time passwords (RFC 6238 over HOTP, RFC 4226), the otpauth://
// enrolment URL and its QR code, and single-use recovery codes. It knows
// nothing of transports or storage: callers keep the secret, the last used
// step and the recovery code hashes with their accounts.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" // RFC 6238's default, and the only algorithm every app supports
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// Config tunes codes and enrolment URLs. The zero value works: WithDefaults
// fills unset fields with the defaults the comments give.
type Config struct {
	// Issuer names the service in authenticator apps. Default "samagate".
	Issuer string
	// Digits is the code length, 6 to 10. Default 6, which all apps support.
	Digits int
	// Period is the time step, whole seconds. Default 30s, all some apps do.
	Period time.Duration
	// Skew is how many steps either side of now are accepted, to absorb
	// clock drift and typing time; at most 10. Default 1; negative accepts
	// only the current step.
	Skew int
}

// WithDefaults returns c with unset fields defaulted, so callers can pass a
// partial Config and every function here agrees on it.
func (c Config) WithDefaults() Config {
	if c.Issuer == "" {
		c.Issuer = "samagate"
	}
	if c.Digits <= 0 {
		c.Digits = 6
	}
	if c.Period <= 0 {
		c.Period = 30 * time.Second
	}
	if c.Skew == 0 {
		c.Skew = 1
	}
	c.Skew = max(c.Skew, 0)
	return c
}

// validate rejects settings that cannot give sound codes, so a bad Config
// fails loudly instead of yielding codes no app will match.
func (c Config) validate() error {
	if c.Digits < 6 || c.Digits > 10 || c.Period%time.Second != 0 || c.Skew > 10 {
		return fmt.Errorf("unsupported config: digits %d, period %v, skew %d", c.Digits, c.Period, c.Skew)
	}
	return nil
}

// encoding is unpadded base32 (RFC 4648), the form apps expect; a function
// rather than a package variable keeps the package free of shared state.
func encoding() *base32.Encoding { return base32.StdEncoding.WithPadding(base32.NoPadding) }

// NewSecret returns a fresh shared secret: 20 random bytes (160 bits, as
// RFC 4226 recommends), base32 upper case without padding, ready to store
// and to put in the enrolment URL.
func NewSecret() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("totp: new secret: %w", err)
	}
	return encoding().EncodeToString(b), nil
}

// normalizeSecret tolerates lower case, spaces and padding in a typed secret.
func normalizeSecret(secret string) string {
	return strings.TrimRight(strings.ToUpper(strings.ReplaceAll(secret, " ", "")), "=")
}

// decodeSecret turns a base32 secret into the HMAC key.
func decodeSecret(secret string) ([]byte, error) {
	key, err := encoding().DecodeString(normalizeSecret(secret))
	if err == nil && len(key) == 0 {
		err = errors.New("empty") // anyone could compute codes for an empty key
	}
	if err != nil {
		return nil, fmt.Errorf("totp: decode secret: %w", err)
	}
	return key, nil
}

// counter is the RFC 6238 time step: floor(unix seconds / period).
func counter(t time.Time, period time.Duration) int64 {
	p, u := int64(period/time.Second), t.Unix()
	if u < 0 && u%p != 0 {
		return u/p - 1
	}
	return u / p
}

// hotp is RFC 4226: HMAC-SHA1 of the big-endian counter, dynamically
// truncated to 31 bits and reduced to digits decimal digits, zero-padded.
func hotp(key []byte, count uint64, digits int) string {
	mac := hmac.New(sha1.New, key)
	mac.Write(binary.BigEndian.AppendUint64(nil, count))
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := uint64(binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff)
	return fmt.Sprintf("%0*d", digits, bin%uint64(math.Pow10(digits)))
}

// Code returns the code for secret at time t, as an authenticator app
// would show it, for tests and for checking enrolment.
func Code(secret string, t time.Time, cfg Config) (string, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return "", fmt.Errorf("totp: code: %w", err)
	}
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	s := counter(t, cfg.Period)
	if s < 0 {
		return "", errors.New("totp: code: time before the unix epoch")
	}
	return hotp(key, uint64(s), cfg.Digits), nil
}

// Verify checks code against the steps within cfg.Skew of now and returns
// the step it matched. Only a step strictly greater than lastStep counts,
// so a code cannot be used twice: the caller stores the returned step and
// passes it next time (0 when none has been used yet). Surrounding
// whitespace and inner spaces ("123 456") are ignored; comparison is
// constant-time.
func Verify(secret, code string, now time.Time, lastStep int64, cfg Config) (step int64, ok bool) {
	cfg = cfg.WithDefaults()
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if cfg.validate() != nil || len(code) != cfg.Digits {
		return 0, false
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return 0, false
		}
	}
	key, err := decodeSecret(secret)
	if err != nil {
		return 0, false
	}
	// Check every candidate and keep the highest match: timing then says
	// nothing, and storing the highest blocks replay wherever code is valid.
	cur, skew := counter(now, cfg.Period), int64(cfg.Skew)
	for d := -skew; d <= skew; d++ {
		s := cur + d
		if s < 0 || s <= lastStep {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(key, uint64(s), cfg.Digits)), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// URL returns the otpauth:// enrolment URL in the Key Uri Format that
// authenticator apps scan. The label is "issuer:account" with each part
// escaped, so a ':' or space in either cannot break it; the parameters
// repeat the issuer and spell out algorithm, digits and period for apps
// that do not assume the defaults.
func URL(secret, account string, cfg Config) string {
	cfg = cfg.WithDefaults()
	return fmt.Sprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
		escape(cfg.Issuer), escape(account), escape(normalizeSecret(secret)),
		escape(cfg.Issuer), cfg.Digits, int64(cfg.Period/time.Second))
}

// escape percent-encodes all but RFC 3986 unreserved characters, spaces as
// %20 because some apps show a '+' literally.
func escape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

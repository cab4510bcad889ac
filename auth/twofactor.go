package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/samagate/samagate/auth/totp"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// Second-factor answers. A missing code says which method is expected
// (Rocket.Chat answers "totp-required" with the method).
var (
	ErrTOTPRequired     = &protocol.Error{Status: 401, Message: "A TOTP code is required (method: totp)."}
	ErrTOTPInvalid      = &protocol.Error{Status: 401, Message: "Invalid TOTP code."}
	ErrTOTPEnabled      = &protocol.Error{Status: 409, Message: "Two-factor authentication is already enabled."}
	ErrTOTPNotEnrolling = &protocol.Error{Status: 422, Message: "Start the TOTP enrollment first.", Errors: map[string][]string{"code": {"Start the TOTP enrollment first."}}}
	ErrTOTPNotEnabled   = &protocol.Error{Status: 422, Message: "Two-factor authentication is not enabled.", Errors: map[string][]string{"code": {"Two-factor authentication is not enabled."}}}
	errCodeMissing      = protocol.Invalid("code", "'code' is required")
	errPasswordMissing  = protocol.Invalid("password", "'password' is required")
)

// TOTPEnrollment is what a user needs to add samagate to an authenticator
// app: the secret, the otpauth:// URL and that URL as a QR code (PNG).
type TOTPEnrollment struct {
	Secret string
	URL    string
	QRPNG  []byte
}

// EnrollTOTP starts (or restarts) TOTP enrollment for the caller: a new
// secret that logins do not ask for until ConfirmTOTP. It needs the
// account's password (checked like user_edit's current_password, under the
// login throttle): with an access token alone, a thief could turn on a
// second factor only they hold and lock the owner out.
func (s *Service) EnrollTOTP(ctx context.Context, p Principal, password, addr string) (*TOTPEnrollment, error) {
	cur, err := s.st.TOTP(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if cur.Enabled {
		return nil, ErrTOTPEnabled
	}
	if password == "" {
		return nil, errPasswordMissing
	}
	u, err := s.st.UserByID(ctx, p.OrgID, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if err := s.checkCurrentPassword(ctx, u, password, addr); err != nil {
		return nil, err
	}
	secret, err := totp.NewSecret()
	if err != nil {
		return nil, fmt.Errorf("totp secret: %w", err)
	}
	if err := s.st.SetTOTP(ctx, p.UserID, store.TOTP{Secret: secret}); err != nil {
		return nil, err
	}
	cfg := totp.Config{Issuer: s.cfg.Issuer}
	url := totp.URL(secret, p.Login, cfg)
	png, err := totp.QRPNG(url, 256)
	if err != nil {
		return nil, fmt.Errorf("totp qr code: %w", err)
	}
	return &TOTPEnrollment{Secret: secret, URL: url, QRPNG: png}, nil
}

// ConfirmTOTP enables TOTP once the user proves their app makes codes, and
// returns ten one-time recovery codes (shown once; only password hashes of
// them are kept). Enabling and storing the codes is one transaction.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	cur, err := s.st.TOTP(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	switch {
	case cur.Enabled:
		return nil, ErrTOTPEnabled
	case cur.Secret == "":
		return nil, ErrTOTPNotEnrolling
	case code == "":
		return nil, errCodeMissing
	}
	step, ok := totp.Verify(cur.Secret, code, s.now(), cur.LastStep, totp.Config{})
	if !ok {
		return nil, ErrTOTPInvalid
	}
	codes, stored, err := s.newRecoveryCodes(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.st.ConfirmTOTP(ctx, p.UserID, cur.Secret, step, stored); errors.Is(err, store.ErrNotFound) {
		return nil, ErrTOTPNotEnrolling // enabled or enrolled again meanwhile
	} else if err != nil {
		return nil, fmt.Errorf("confirm totp: %w", err)
	}
	return codes, nil
}

// newRecoveryCodes draws the recovery codes and hashes each like a
// password, found later by its selector.
func (s *Service) newRecoveryCodes(ctx context.Context) ([]string, []store.RecoveryCode, error) {
	codes, err := totp.NewRecoveryCodes(totp.DefaultRecoveryCodes)
	if err != nil {
		return nil, nil, fmt.Errorf("recovery codes: %w", err)
	}
	stored := make([]store.RecoveryCode, len(codes))
	for i, c := range codes {
		sel, _ := totp.RecoverySelector(c)
		h, err := s.hash(ctx, totp.NormalizeRecoveryCode(c))
		if err != nil {
			return nil, nil, err
		}
		stored[i] = store.RecoveryCode{Selector: sel, Hash: h}
	}
	return codes, stored, nil
}

// DisableTOTP turns TOTP off; it needs a current code or a recovery code,
// throttled like the second factor of a login (the same count).
func (s *Service) DisableTOTP(ctx context.Context, p Principal, code, addr string) error {
	cur, err := s.st.TOTP(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !cur.Enabled {
		return ErrTOTPNotEnabled
	}
	if code == "" {
		return errCodeMissing
	}
	if err := s.guessCode(ctx, p.UserID, cur, code, addr); err != nil {
		return err
	}
	return s.st.SetTOTP(ctx, p.UserID, store.TOTP{})
}

// needsCode answers ErrTOTPRequired when the user has TOTP and code is
// blank: asking for a code is no guess and spends nothing.
func (s *Service) needsCode(ctx context.Context, userID, code string) error {
	cur, err := s.st.TOTP(ctx, userID)
	if err != nil {
		return fmt.Errorf("load totp: %w", err)
	}
	if cur.Enabled && strings.TrimSpace(code) == "" {
		return ErrTOTPRequired
	}
	return nil
}

// codeLocked answers the 429 of a locked second factor before the
// password is hashed: while a user's codes are locked, even the right
// password is refused at no cost, so someone who has it cannot burn
// hashes (or learn anything) by retrying. It looks without keeping an
// attempt: a reservation given back at once.
func (s *Service) codeLocked(ctx context.Context, userID string) error {
	cur, err := s.st.TOTP(ctx, userID)
	if err != nil {
		return fmt.Errorf("load totp: %w", err)
	}
	if !cur.Enabled {
		return nil
	}
	att, err := s.reserve(ctx, Key{KindSecondFactor, userID})
	if err != nil {
		return err
	}
	att.undo(ctx)
	return nil
}

// secondFactor is the login step after the password: nothing for users
// without TOTP; else code must be a fresh TOTP code or an unused recovery
// code.
func (s *Service) secondFactor(ctx context.Context, userID, code, addr string) error {
	cur, err := s.st.TOTP(ctx, userID)
	if err != nil {
		return fmt.Errorf("load totp: %w", err)
	}
	if !cur.Enabled {
		return nil
	}
	if strings.TrimSpace(code) == "" {
		return ErrTOTPRequired
	}
	return s.guessCode(ctx, userID, cur, code, addr)
}

// guessCode checks a code under the throttle: the user's second-factor
// count (which a correct password does not reset) and the address each
// reserve an attempt first; a wrong code is a failure of both.
func (s *Service) guessCode(ctx context.Context, userID string, cur store.TOTP, code, addr string) error {
	att, err := s.reserve(ctx, Key{KindSecondFactor, userID}, addressKey(addr))
	if err != nil {
		return err
	}
	err = s.checkCode(ctx, userID, cur, code)
	switch {
	case err == nil:
		att.succeed(ctx)
	case errors.Is(err, ErrTOTPInvalid):
		att.fail(ctx)
	default:
		att.undo(ctx)
	}
	return err
}

// checkCode accepts a TOTP code once (the used step is recorded atomically,
// so a replay fails on every node) or consumes a recovery code.
func (s *Service) checkCode(ctx context.Context, userID string, cur store.TOTP, code string) error {
	if step, ok := totp.Verify(cur.Secret, code, s.now(), cur.LastStep, totp.Config{}); ok {
		fresh, err := s.st.UseTOTPStep(ctx, userID, step)
		if err != nil {
			return err
		}
		if fresh {
			return nil
		}
		return ErrTOTPInvalid // replayed
	}
	hash, err := s.recoveryHash(ctx, userID, code)
	if err != nil {
		return err
	}
	used, err := s.st.UseRecoveryCode(ctx, userID, hash)
	if err != nil {
		return err
	}
	if !used {
		return ErrTOTPInvalid // used meanwhile
	}
	return nil
}

// recoveryHash returns the stored hash that code proves, or ErrTOTPInvalid:
// a current code is found by its selector and checked against its password
// hash; a code of before selectors by its SHA-256.
func (s *Service) recoveryHash(ctx context.Context, userID, code string) (string, error) {
	if legacy, ok := totp.LegacyRecoveryHash(code); ok {
		return legacy, nil
	}
	sel, ok := totp.RecoverySelector(code)
	if !ok {
		return "", ErrTOTPInvalid
	}
	hash, err := s.st.RecoveryCode(ctx, userID, sel)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrTOTPInvalid
	}
	if err != nil {
		return "", err
	}
	ok, err = s.verify(ctx, totp.NormalizeRecoveryCode(code), hash)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrTOTPInvalid
	}
	return hash, nil
}

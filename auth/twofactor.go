package auth

import (
	"context"
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
)

// TOTPEnrollment is what a user needs to add samagate to an authenticator
// app: the secret, the otpauth:// URL and that URL as a QR code (PNG).
type TOTPEnrollment struct {
	Secret string
	URL    string
	QRPNG  []byte
}

// EnrollTOTP starts (or restarts) TOTP enrollment for the caller: a new
// secret that logins do not ask for until ConfirmTOTP.
func (s *Service) EnrollTOTP(ctx context.Context, p Principal) (*TOTPEnrollment, error) {
	cur, err := s.st.TOTP(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if cur.Enabled {
		return nil, ErrTOTPEnabled
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
// returns ten one-time recovery codes (shown once; only hashes are kept).
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
	codes, err := totp.NewRecoveryCodes(totp.DefaultRecoveryCodes)
	if err != nil {
		return nil, fmt.Errorf("recovery codes: %w", err)
	}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = totp.HashRecoveryCode(c)
	}
	if err := s.st.SetRecoveryCodes(ctx, p.UserID, hashes); err != nil {
		return nil, err
	}
	if err := s.st.SetTOTP(ctx, p.UserID, store.TOTP{Secret: cur.Secret, Enabled: true, LastStep: step}); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns TOTP off; it needs a current code or a recovery code.
func (s *Service) DisableTOTP(ctx context.Context, p Principal, code string) error {
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
	if err := s.checkCode(ctx, p.UserID, cur, code); err != nil {
		return err
	}
	return s.st.SetTOTP(ctx, p.UserID, store.TOTP{})
}

// secondFactor is the login step after the password: nothing for users
// without TOTP; else code must be a fresh TOTP code or an unused recovery
// code.
func (s *Service) secondFactor(ctx context.Context, userID, code string) error {
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
	return s.checkCode(ctx, userID, cur, code)
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
	used, err := s.st.UseRecoveryCode(ctx, userID, totp.HashRecoveryCode(code))
	if err != nil {
		return err
	}
	if !used {
		return ErrTOTPInvalid
	}
	return nil
}

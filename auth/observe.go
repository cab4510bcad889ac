package auth

import (
	"errors"

	"github.com/samagate/samagate/protocol"
)

// Observer is told the result of every password login, for metrics
// (*metrics.Registry implements it). It must not block.
type Observer interface {
	Login(result string)
}

// LoginResult names a password login's outcome for metrics: "ok",
// "wrong_password" (or unknown user: they are told apart nowhere),
// "wrong_code" (second factor), "2fa_required", "throttled", "invalid"
// (a request error, 4xx) or "error" (the server's).
func LoginResult(err error) string {
	if err == nil {
		return "ok"
	}
	if _, ok := errors.AsType[*ThrottledError](err); ok {
		return "throttled"
	}
	switch {
	case errors.Is(err, protocol.ErrBadCredentials):
		return "wrong_password"
	case errors.Is(err, ErrTOTPRequired):
		return "2fa_required"
	case errors.Is(err, ErrTOTPInvalid):
		return "wrong_code"
	}
	switch we := protocol.ToWire(err); {
	case we.Status == 429:
		return "throttled"
	case we.Status < 500:
		return "invalid"
	}
	return "error"
}

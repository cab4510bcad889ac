package httpauth

import (
	"encoding/base64"
	"net/http"

	"github.com/samagate/samagate/protocol"
)

// twoFactor serves TOTP management for the Bearer token's user:
//
//	POST /2fa/totp/enroll {password} -> {"secret", "otpauth_url", "qr_png": base64 PNG}
//	POST /2fa/totp/confirm {code}   -> {"recovery_codes": [10 one-time codes]}; logins now need a code
//	POST /2fa/totp/disable {code}   -> {"success": true}; a TOTP or recovery code
func (h *Handler) twoFactor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.Error(w, r, errRouteNotFound)
		return
	}
	p, _, ok := h.principal(w, r)
	if !ok {
		return
	}
	var body struct {
		Code     string `json:"code"`
		Password string `json:"password"`
	}
	if err := h.decodeJSON(w, r, &body); err != nil {
		h.Error(w, r, err)
		return
	}
	ctx := r.Context()
	switch r.URL.Path {
	case "/2fa/totp/enroll":
		e, err := h.auth.EnrollTOTP(ctx, *p, body.Password, h.clientAddr(r))
		if err != nil {
			h.Error(w, r, err)
			return
		}
		h.writeJSON(w, r, http.StatusOK, map[string]string{
			"secret": e.Secret, "otpauth_url": e.URL, "qr_png": base64.StdEncoding.EncodeToString(e.QRPNG)})
	case "/2fa/totp/confirm":
		codes, err := h.auth.ConfirmTOTP(ctx, *p, body.Code)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		h.writeJSON(w, r, http.StatusOK, map[string][]string{"recovery_codes": codes})
	case "/2fa/totp/disable":
		if err := h.auth.DisableTOTP(ctx, *p, body.Code, h.clientAddr(r)); err != nil {
			h.Error(w, r, err)
			return
		}
		h.writeJSON(w, r, http.StatusOK, map[string]bool{"success": true})
	default:
		h.Error(w, r, protocol.ErrRouteNotFound)
	}
}

package totp

import (
	"errors"
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// QRPNG renders url as a size×size PNG QR code for the enrolment screen,
// so the user can scan it rather than type the secret. Medium error
// correction keeps the code small enough to scan from a screen while
// surviving glare. A size too small for the code's modules is raised to
// one pixel per module.
func QRPNG(url string, size int) ([]byte, error) {
	if url == "" {
		return nil, errors.New("totp: qr: empty url")
	}
	if size <= 0 {
		return nil, fmt.Errorf("totp: qr: size %d must be positive", size)
	}
	png, err := qrcode.Encode(url, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("totp: qr: %w", err)
	}
	return png, nil
}

package totp

import (
	"bytes"
	"image/png"
	"testing"
)

func TestQRPNG(t *testing.T) {
	b, err := QRPNG(URL("JBSWY3DPEHPK3PXP", "alice@example.com", Config{}), 256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("no PNG signature: % x", b[:min(8, len(b))])
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() < 240 || r.Dx() > 272 || r.Dy() < 240 || r.Dy() > 272 {
		t.Errorf("image is %dx%d, want about 256x256", r.Dx(), r.Dy())
	}
}

func TestQRPNGErrors(t *testing.T) {
	if _, err := QRPNG("", 256); err == nil {
		t.Error("empty url: no error")
	}
	if _, err := QRPNG("otpauth://totp/x", 0); err == nil {
		t.Error("size 0: no error")
	}
}

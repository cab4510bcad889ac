package e2e_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/auth"
)

// TestSendImageInBrowser: alice picks an image on the demo page; it is
// uploaded to samagate's local storage and sent; bob's page shows it
// (loaded from its download URL, at its real size), and so does alice's.
func TestSendImageInBrowser(t *testing.T) {
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()}
	cfg.HTTP.InsecureCookie = true
	cfg.Auth.Hash = auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}
	a := app.New(cfg, zerolog.New(io.Discard))
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + a.Addr().String() + "/"
	pic := filepath.Join(t.TempDir(), "dot.png")
	writePNG(t, pic, 7, 5)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alice, bob := newBrowser(t, ctx), newBrowser(t, ctx)
	for _, u := range []struct {
		ctx   context.Context
		login string
	}{{alice, "alice"}, {bob, "bob"}} {
		if err := chromedp.Run(u.ctx,
			chromedp.Navigate(base),
			chromedp.WaitVisible(`#signup-login`, chromedp.ByID),
			chromedp.SendKeys(`#signup-login`, u.login, chromedp.ByID),
			chromedp.SendKeys(`#signup-password`, "secret-"+u.login, chromedp.ByID),
			chromedp.Click(`#signup-btn`, chromedp.ByID),
			chromedp.WaitVisible(`#search`, chromedp.ByID),
		); err != nil {
			t.Fatalf("sign up %s: %v", u.login, err)
		}
	}
	if err := chromedp.Run(alice,
		chromedp.SendKeys(`#search`, "bob", chromedp.ByID),
		chromedp.WaitVisible(`.search-result`, chromedp.ByQuery),
		chromedp.Click(`.search-result`, chromedp.ByQuery),
		chromedp.WaitEnabled(`#composer`, chromedp.ByID),
		chromedp.SendKeys(`#composer`, "a picture follows", chromedp.ByID),
		chromedp.Click(`#send-btn`, chromedp.ByID),
		waitText(`#messages`, "a picture follows"),
		chromedp.WaitEnabled(`#file-input`, chromedp.ByID),
		chromedp.SetUploadFiles(`#file-input`, []string{pic}, chromedp.ByID),
		waitImage(7, 5),
	); err != nil {
		t.Fatalf("alice sends an image: %v", err)
	}
	if err := chromedp.Run(bob,
		chromedp.WaitVisible(`.conversation`, chromedp.ByQuery),
		clickNow(`.conversation`),
		waitText(`#messages`, "a picture follows"),
		waitImage(7, 5),
	); err != nil {
		t.Fatalf("bob sees the image: %v", err)
	}
}

// waitImage waits until an attachment image has loaded at w×h pixels.
func waitImage(w, h int) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		js := fmt.Sprintf(`Array.from(document.querySelectorAll('img[data-testid="attachment-image"]')).some(function (i) {
			return i.complete && i.naturalWidth === %d && i.naturalHeight === %d; })`, w, h)
		for {
			var ok bool
			if err := chromedp.Run(ctx, chromedp.Evaluate(js, &ok)); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				var html string
				_ = chromedp.Run(context.WithoutCancel(ctx), chromedp.OuterHTML(`#messages`, &html, chromedp.ByID))
				return fmt.Errorf("%w (messages: %s)", ctx.Err(), html)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{R: uint8(30 * x), G: 90, B: uint8(40 * y), A: 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

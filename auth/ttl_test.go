package auth_test

import (
	"testing"
	"time"

	"github.com/samagate/samagate/auth"
)

// FuzzParseExpiresIn: any string either fails or gives a positive lifetime
// of at most 100 years; nothing panics or overflows.
func FuzzParseExpiresIn(f *testing.F) {
	for _, s := range []string{"12h", "7d", "90m", "1d12h", "500ms", "2w", "3600000", "", "h", "1", "-1h", "99999999999h", "999999999w999999999w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := auth.ParseExpiresIn(s)
		if err != nil {
			return
		}
		if d <= 0 || d > 100*365*24*time.Hour {
			t.Fatalf("%q: got %v", s, d)
		}
	})
}

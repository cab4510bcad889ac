package procstat

import (
	"os"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRSS: this process's RSS is read both ways, is plausible, and grows
// when memory is touched.
func TestRSS(t *testing.T) {
	self, err := RSS(0)
	if err != nil {
		t.Fatal(err)
	}
	byPid, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self < 1<<20 || byPid < 1<<20 {
		t.Fatalf("RSS %d and %d bytes, want at least 1 MiB", self, byPid)
	}
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, err := RSS(0)
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(buf)
	if after-self < 32<<20 {
		t.Fatalf("RSS grew by %d bytes after touching 64 MiB, want at least 32 MiB", after-self)
	}
	if _, err := RSS(1 << 30); err == nil {
		t.Fatal("RSS of a pid that does not exist: got no error")
	}
}

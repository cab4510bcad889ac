package presence_test

import (
	"testing"

	"github.com/samagate/samagate/presence"
	"github.com/samagate/samagate/presence/presencetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryContract(t *testing.T) {
	presencetest.Run(t, func(t *testing.T) presencetest.Backend { return presence.NewMemory() })
}

package gateway_test

import (
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/auth"
)

// cheapHashing keeps argon2id but with tiny parameters, so the suite stays
// fast under -race on two cores. Production uses OWASP's parameters.
func cheapHashing(c *app.Config) {
	c.Auth.Hash = auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}
}

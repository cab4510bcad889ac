package gateway_test

import (
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/auth"
)

// cheapHashing keeps argon2id but with tiny parameters, so the suite stays
// fast under -race on two cores. Production uses OWASP's parameters. Every
// test signs its users up from 127.0.0.1, so the per-address sign-up limit
// is off (it has tests of its own in auth and e2e).
func cheapHashing(c *app.Config) {
	c.Auth.Hash = auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}
	c.Auth.Throttle.SignupPerAddress = -1
}

package gateway

import "github.com/samagate/samagate/protocol"

// SetHandlerHook makes every request of a gateway built from c call f
// first, inside its handler's panic recovery: the abuse tests use it to
// make a handler panic on purpose. Only tests can reach it.
func SetHandlerHook(c *Config, f func(protocol.Request)) { c.handlerHook = f }

// SetWriteHook makes every flush of a socket's outbox of a gateway built
// from c report its frames and its writes to the connection: tests count
// frames per write with it.
func SetWriteHook(c *Config, f func(frames, writes int)) { c.writeHook = f }

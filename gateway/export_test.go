package gateway

import "github.com/samagate/samagate/protocol"

// SetHandlerHook makes every request of a gateway built from c call f
// first, inside its handler's panic recovery: the abuse tests use it to
// make a handler panic on purpose. Only tests can reach it.
func SetHandlerHook(c *Config, f func(protocol.Request)) { c.handlerHook = f }

package gateway_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/gateway"
	"github.com/samagate/samagate/protocol"
)

// TestHandlerPanicAnswered: a handler that panics (made to, through the
// test hook) costs its request one 500 reply; the socket stays open and
// bound, and answers every request after it.
func TestHandlerPanicAnswered(t *testing.T) {
	n := startNode(t, func(c *app.Config) {
		gateway.SetHandlerHook(&c.Gateway, func(r protocol.Request) {
			if bytes.Contains(r.Params, []byte(`"panic":true`)) {
				panic("injected by the test")
			}
		})
	})
	a := n.signUp(t, "alice")
	c := n.connected(t, a, "d")
	const rounds = 30
	answered := 0
	for i := range rounds {
		c.roundTrip(fmt.Sprintf(`{"request":{"conversation_list":{"panic":true},"id":"boom%d"}}`, i),
			fmt.Sprintf(`{"response":{"id":"boom%d","error":{"status":500,"message":"Internal server error."}}}`, i))
		c.roundTrip(fmt.Sprintf(`{"request":{"conversation_list":{},"id":"after%d"}}`, i),
			fmt.Sprintf(`{"response":{"id":"after%d","conversations":[]}}`, i))
		answered++
	}
	c.roundTrip(`{"message":{"id":"boom-m","cid":"x","body":"b","panic":true}}`,
		`{"message":{"id":"boom-m","error":{"status":500,"message":"Internal server error."}}}`)
	c.roundTrip(`{"request":{"session_list":{},"id":"sl"}}`, `{"response":{"id":"sl","sessions":"<any>"}}`)
	t.Logf("%d handler panics: each answered 500 once; %d requests after them answered; the socket is still bound", rounds, answered)
}

// TestOnlineListBounds: online_list with the largest offset answers an
// empty page (offset+limit overflowed and panicked, leaving the request
// unanswered); offsets beyond int and id lists beyond 100 get 422.
func TestOnlineListBounds(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	c := n.connected(t, a, "d")
	c.roundTrip(`{"request":{"online_list":{"offset":9223372036854775807,"limit":100},"id":"o1"}}`, `{"response":{"id":"o1","users":[]}}`)
	c.roundTrip(`{"request":{"online_list":{"offset":9223372036854775807,"idsOnly":true},"id":"o2"}}`, `{"response":{"id":"o2","users":[]}}`)
	c.roundTrip(`{"request":{"online_list":{"offset":0,"idsOnly":true},"id":"o3"}}`, fmt.Sprintf(`{"response":{"id":"o3","users":[%q]}}`, a.id))
	c.roundTrip(`{"request":{"online_list":{"offset":1e30},"id":"o4"}}`, `{"response":{"id":"o4","error":{"...":true,"status":422}}}`)
	c.roundTrip(`{"request":{"online_list":{"offset":-1},"id":"o5"}}`, `{"response":{"id":"o5","error":{"...":true,"status":422}}}`)

	many := `"` + strings.Repeat(`x","`, 100) + `x"`
	c.roundTrip(`{"request":{"user_last_activity":{"ids":[`+many+`]},"id":"la1"}}`,
		`{"response":{"id":"la1","error":{"status":422,"message":"'ids' max length 100","errors":{"ids":["'ids' max length 100"]}}}}`)
	empties := `"` + strings.Repeat(`","`, 10000) + `"`
	c.roundTrip(`{"request":{"user_last_activity":{"ids":[`+empties+`]},"id":"la2"}}`,
		`{"response":{"id":"la2","error":{"...":true,"status":422}}}`)
	c.roundTrip(fmt.Sprintf(`{"request":{"user_last_activity":{"ids":[%q]},"id":"la3"}}`, a.id),
		fmt.Sprintf(`{"response":{"id":"la3","last_activity":{%q:0}}}`, a.id))
}

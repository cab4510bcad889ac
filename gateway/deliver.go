package gateway

import "github.com/samagate/samagate/chat"

// deliver queues one encoded event on every bound socket of its recipients
// except the sending socket (the sender's other sockets get it: carbons).
// The bytes are shared, never re-encoded; send never blocks.
func (g *Gateway) deliver(d *chat.Delivery, except *Socket) {
	if d == nil {
		return
	}
	for _, uid := range d.UserIDs {
		for _, s := range g.hub.userSockets(uid) {
			if s != except {
				s.sendEvent(d.Frame, d.EventID)
			}
		}
	}
}

// deliverAll delivers several events in order.
func (g *Gateway) deliverAll(ds []chat.Delivery, except *Socket) {
	for i := range ds {
		g.deliver(&ds[i], except)
	}
}

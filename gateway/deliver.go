package gateway

import "github.com/samagate/samagate/chat"

// deliver queues one encoded event on every bound socket of its recipients
// on this node except the sending socket (the sender's other sockets get
// it: carbons), then hands it to the cluster for the recipients' sockets on
// other nodes. The bytes are shared, never re-encoded; local sends never
// block.
func (g *Gateway) deliver(d *chat.Delivery, except *Socket) {
	if d == nil {
		return
	}
	// A bus recovery may already have delivered it to some users here.
	g.deliverLocal(d.Frame, d.EventID, g.recent.claim(d.EventID, d.UserIDs), except)
	if g.cluster == nil || len(d.UserIDs) == 0 {
		return
	}
	ctx, cancel := g.clusterCtx()
	defer cancel()
	if err := g.cluster.Deliver(ctx, d.Frame, d.EventID, d.UserIDs); err != nil {
		// The event is in the log: the other nodes recover it once their
		// bus works again, and devices catch up on reconnect.
		g.log.Warn().Err(err).Str("event", d.EventID).Msg("cluster: deliver")
	}
}

// deliverLocal queues frame on this node's sockets of userIDs but except.
func (g *Gateway) deliverLocal(frame []byte, eventID string, userIDs []string, except *Socket) {
	for _, uid := range userIDs {
		for _, s := range g.hub.userSockets(uid) {
			if s != except {
				s.sendEvent(frame, eventID)
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

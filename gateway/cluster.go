package gateway

import (
	"context"
	"time"

	"github.com/samagate/samagate/auth"
)

// Cluster carries what this node cannot do alone to the other nodes (the
// Redis presence backend implements it). Nil on a single node.
type Cluster interface {
	// Broadcast sends commit packets (commitpacket.go), in order, to every
	// other node.
	Broadcast(ctx context.Context, packets ...[]byte) error
	// Activity tells nodes following userID its last activity (0 = online).
	Activity(ctx context.Context, userID string, value int64) error
	// EndSession closes ended sessions' sockets on the other nodes: the
	// user's, narrowed to deviceID or sessionID when set, sparing
	// exceptSessionID.
	EndSession(ctx context.Context, userID, deviceID, sessionID, exceptSessionID, reason string) error
	// Watch and Unwatch count this node's followers of a user's activity.
	Watch(ctx context.Context, userID string) error
	Unwatch(ctx context.Context, userID string) error
}

// resolveWindow is how many of the last commit numbers a node of a cluster
// decides before it starts releasing after them: at most one commit per
// node is in flight at a time, so this covers clusters of up to that many
// nodes (sequencer.start).
const resolveWindow = 64

// UseCluster makes the gateway share commits with the other nodes through
// c. Call it before Serve.
func (g *Gateway) UseCluster(c Cluster) {
	g.cluster = c
}

// CommitLocal takes a commit packet from another node (presence.Receiver).
// A packet that cannot be decoded or queued is dropped: its commit number
// is then read from the log when its turn comes.
func (g *Gateway) CommitLocal(packet []byte) {
	c, live, err := decodeCommit(packet)
	if err != nil {
		g.log.Warn().Err(err).Int("bytes", len(packet)).Msg("cluster: dropped a malformed commit packet")
		return
	}
	if live {
		for i := range c.Deliveries {
			g.deliverLive(&c.Deliveries[i])
		}
		return
	}
	if q := g.seq.Load(); q == nil || !q.offer(c) {
		g.log.Debug().Int64("commit", c.Seq).Msg("cluster: commit queue full; the commit will be read from the log")
	}
}

// ActivityLocal tells this node's followers of userID about another node's
// change (presence.Receiver).
func (g *Gateway) ActivityLocal(userID string, value int64) { g.notifyActivity(userID, value) }

// EndSessionLocal closes this node's sockets of a session revoked on another
// node (presence.Receiver). auth forgets the user's cached sessions first,
// so the revoked token cannot connect here from the cache.
func (g *Gateway) EndSessionLocal(ctx context.Context, userID, deviceID, sessionID, exceptSessionID, reason string) {
	e := auth.SessionEnd{UserID: userID, DeviceID: deviceID, SessionID: sessionID,
		ExceptSessionID: exceptSessionID, Reason: reason}
	g.accounts.SessionEnded(e)
	g.endSessionLocal(ctx, e)
}

// PresenceChanged announces users who went offline because their node died,
// or came back online when this node restored its Redis entries
// (presence.Receiver).
func (g *Gateway) PresenceChanged(ctx context.Context, userIDs []string, online bool) {
	for _, uid := range userIDs {
		if online {
			g.announce(ctx, uid, 0)
			continue
		}
		now := time.Now()
		if err := g.accounts.SetRecentActivity(ctx, uid, now); err != nil {
			g.log.Debug().Err(err).Str("user", uid).Msg("store recent activity")
		}
		g.announce(ctx, uid, now.Unix())
	}
}

// announce tells every follower of userID, on this node and the others.
func (g *Gateway) announce(ctx context.Context, userID string, value int64) {
	g.notifyActivity(userID, value)
	if g.cluster == nil {
		return
	}
	if err := g.cluster.Activity(ctx, userID, value); err != nil {
		g.log.Warn().Err(err).Str("user", userID).Msg("cluster: activity")
	}
}

// Recover is told that commit packets from other nodes may have been lost
// (the bus was down, Redis lost its data, a node died) (presence.Receiver).
// The missing numbers are holes in the commit order: the node learns the
// newest number from the log at once, and every missing commit is read
// from the log after the hold-back.
func (g *Gateway) Recover(_ context.Context, since time.Time) {
	g.log.Info().Time("since", since).Msg("cluster: commits may have been lost; probing the log")
	if q := g.seq.Load(); q != nil {
		q.probeNow()
	}
}

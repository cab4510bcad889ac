package gateway

import (
	"context"
	"time"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// replayMax bounds one catch-up; a device further behind gets
// {"catch_up":{"until":..,"truncated":true}} and re-lists (docs/events.md).
const replayMax = 10000

// replayPage is how many events are read from the log at a time.
const replayPage = 500

// pendingFrame is a live event that arrived while the socket was replaying.
type pendingFrame struct {
	frame []byte
	eid   string
}

// sendEvent queues an event frame; while the socket replays the log, live
// events wait behind the replay so the socket sees one ordered stream.
func (s *Socket) sendEvent(frame []byte, eid string) {
	s.qmu.Lock()
	if s.replaying {
		s.pending = append(s.pending, pendingFrame{frame: frame, eid: eid})
		s.qmu.Unlock()
		return
	}
	if s.replayed != nil {
		// An event committed before the replay read it may still be on its
		// way here live; drop that copy. Deliveries of committed events
		// happen within a request's lifetime, so the set expires after it.
		if time.Now().After(s.replayedUntil) {
			s.replayed = nil
		} else if eid != "" && s.replayed[eid] {
			s.qmu.Unlock()
			return
		}
	}
	s.qmu.Unlock()
	s.send(frame)
}

// startReplay holds live events back until finishReplay.
func (s *Socket) startReplay() {
	s.qmu.Lock()
	s.replaying = true
	s.qmu.Unlock()
}

// finishReplay sends the held-back live events, except those the replay
// already sent, then lets live events through again. Holding qmu while
// flushing keeps a concurrent event from overtaking them (writes never block).
func (s *Socket) finishReplay(replayed map[string]bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for _, p := range s.pending {
		if p.eid == "" || !replayed[p.eid] {
			s.send(p.frame)
		}
	}
	s.pending = nil
	s.replaying = false
	if len(replayed) > 0 {
		s.replayed, s.replayedUntil = replayed, time.Now().Add(s.g.cfg.RequestTimeout)
	}
}

// replay sends every logged event of the socket's user after since, in
// order, then {"catch_up":{"until":"<last position>"}}. The socket is already
// bound and holding live events back (startReplay).
func (g *Gateway) replay(ctx context.Context, s *Socket, a chat.Actor, since string) {
	replayed := map[string]bool{}
	until, truncated := since, false
	defer func() { s.finishReplay(replayed) }()
	for len(replayed) < replayMax {
		evs, err := g.chat.Replay(ctx, a, until, min(replayPage, replayMax-len(replayed)))
		if err != nil {
			g.log.Error().Err(err).Str("user", a.UserID).Msg("replay failed")
			truncated = true
			break
		}
		for _, e := range evs {
			s.send(e.Frame)
			replayed[e.ID] = true
			until = e.ID
		}
		if len(evs) < replayPage {
			break
		}
	}
	if len(replayed) >= replayMax {
		truncated = true
	}
	done := map[string]any{"until": until}
	if truncated {
		done["truncated"] = true
	}
	frame, err := protocol.Event("catch_up", done)
	if err != nil {
		g.log.Error().Err(err).Msg("encode catch_up")
		return
	}
	s.send(frame)
}

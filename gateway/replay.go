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
const replayPage = 200

// startReplay stops live delivery of logged events to the socket (before it
// is bound, so that none slips through) and returns the context and
// generation of a new replay; a replay still running is cancelled.
func (s *Socket) startReplay() (context.Context, uint64) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.replayCancel != nil {
		s.replayCancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.replaying, s.replayCancel = true, cancel
	s.replayGen++
	return ctx, s.replayGen
}

// goLive ends replay gen: live events flow again, starting right after
// frame (the catch_up). A superseded replay changes nothing.
func (s *Socket) goLive(gen uint64, frame []byte) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.replayGen != gen {
		return
	}
	s.replaying = false
	if s.replayCancel != nil {
		s.replayCancel()
		s.replayCancel = nil
	}
	if frame != nil {
		s.queueLocked(frame)
		s.flushLocked()
	}
}

// stopReplay cancels a running replay (the socket closed).
func (s *Socket) stopReplay() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.replayCancel != nil {
		s.replayCancel()
		s.replayCancel = nil
	}
}

// waitRoom waits until the socket's unsent bytes leave room for n more
// (half the send queue), so a replay never overflows a slow client's queue:
// the backlog goes out as the client reads it. It reports false when ctx
// ends (the socket closed, or a newer replay started).
func (s *Socket) waitRoom(ctx context.Context, n int) bool {
	for {
		if p := s.pending(); p == 0 || p+int64(n) <= s.replayRoom() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// replayRoom is the most unsent bytes a replay lets a socket have.
func (s *Socket) replayRoom() int64 { return int64(s.g.cfg.SendQueueBytes / 2) }

// replay sends every logged event of the socket's user after the position
// since names, in order and paced by the socket's queue, up to what the
// sequencer has released, then hands the socket over to live delivery
// between two releases and sends {"catch_up":{"until":"<last id>"}}. It
// runs on its own goroutine; the socket was bound with live delivery held
// (startReplay). If the log cannot be read it goes live with
// "truncated":true, and the device re-lists.
func (g *Gateway) replay(ctx context.Context, gen uint64, s *Socket, a chat.Actor, since string) {
	start, sent := time.Now(), 0
	defer func() {
		g.counts.deliveries.Add(int64(sent))
		g.obs.Replayed(sent, time.Since(start))
	}()
	live := func(until string, truncated bool) func() {
		return func() {
			frame, err := protocol.Event("catch_up", catchUp(until, truncated))
			if err != nil {
				g.log.Error().Err(err).Msg("encode catch_up")
			}
			s.goLive(gen, frame)
		}
	}
	q := g.seq.Load()
	if q == nil {
		live(since, true)()
		return
	}
	cursor, _, err := g.chat.EventPos(ctx, since)
	if err != nil {
		g.log.Error().Err(err).Str("user", a.UserID).Msg("replay: find the position")
		q.handoff(-1, live(since, true))
		return
	}
	until := since
	for {
		target := q.released()
		for sent < replayMax {
			page, err := g.chat.Replay(ctx, a, cursor, chat.LastPos(target), min(replayPage, replayMax-sent))
			if ctx.Err() != nil {
				return // the socket closed, or a newer replay took over
			}
			if err != nil {
				g.log.Error().Err(err).Str("user", a.UserID).Msg("replay failed")
				q.handoff(-1, live(until, true))
				return
			}
			// The page goes out in as few writes as the room allows: frames
			// are gathered while they fit beside the unsent bytes.
			batch, size := make([][]byte, 0, len(page)), 0
			for _, e := range page {
				if size > 0 && s.pending()+int64(size+len(e.Frame)) > s.replayRoom() {
					s.sendAll(batch)
					batch, size = batch[:0], 0
				}
				if size == 0 && !s.waitRoom(ctx, len(e.Frame)) {
					return
				}
				batch = append(batch, e.Frame)
				size += len(e.Frame)
				cursor, until = e.Pos, e.ID
				sent++
			}
			s.sendAll(batch)
			if len(page) < replayPage {
				break
			}
		}
		if sent >= replayMax {
			q.handoff(-1, live(until, true))
			return
		}
		// Go live unless more commits were released while reading them.
		if q.handoff(target, live(until, false)) {
			return
		}
	}
}

// catchUp is the payload of the catch_up frame.
func catchUp(until string, truncated bool) map[string]any {
	done := map[string]any{"until": until}
	if truncated {
		done["truncated"] = true
	}
	return done
}

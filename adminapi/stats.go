package adminapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/httpauth"
)

// dayMinutes is how many minutes Rates remembers.
const dayMinutes = 24 * 60

// Rates counts the messages this node commits (socket and admin ones
// alike) per minute for the last day. It is fed every commit of the node
// (Committed, from chat's sink) and costs one lock and a prefix test per
// delivery. The zero value is not usable; create it with NewRates.
type Rates struct {
	now func() time.Time

	mu      sync.Mutex
	counts  [dayMinutes]int64 // guarded by mu: messages of each minute
	minutes [dayMinutes]int64 // guarded by mu: the unix minute counts[i] holds
}

// NewRates returns empty rates on clock now (nil: time.Now).
func NewRates(now func() time.Time) *Rates {
	if now == nil {
		now = time.Now
	}
	return &Rates{now: now}
}

// messagePrefix starts the frame of a message event (chat's messageEvent):
// edits, reads and system messages are other events.
var messagePrefix = []byte(`{"message":`)

// Committed counts the messages of one commit.
func (r *Rates) Committed(c chat.Commit) {
	n := 0
	for _, d := range c.Deliveries {
		if bytes.HasPrefix(d.Frame, messagePrefix) {
			n++
		}
	}
	if n > 0 {
		r.add(r.now(), n)
	}
}

// add counts n messages at t.
func (r *Rates) add(t time.Time, n int) {
	m := t.Unix() / 60
	i := m % dayMinutes
	r.mu.Lock()
	if r.minutes[i] != m {
		r.minutes[i], r.counts[i] = m, 0
	}
	r.counts[i] += int64(n)
	r.mu.Unlock()
}

// last sums the messages of the n whole minutes before the current one.
func (r *Rates) last(n int64) int64 {
	cur := r.now().Unix() / 60
	var sum int64
	r.mu.Lock()
	defer r.mu.Unlock()
	for m := cur - n; m < cur; m++ {
		if i := m % dayMinutes; r.minutes[i] == m {
			sum += r.counts[i]
		}
	}
	return sum
}

// dependency is one entry of server-stats' dependencies.
type dependency struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// serverStats is GET /admin/server-stats[?format=1]: SAMA's fields for
// this node. uptime and uptime_seconds (SAMA's older and newer name) are
// seconds since the node started, or with format set (not "0" or "false")
// text like "1d 2h 3m 4s". status is "ok" when every dependency answered
// a ping, else "fail". online_users counts the users with a socket on this
// node and connections its sockets (SAMA's one number counted sessions).
// messages_per_minute, _hour and _day count the messages this node
// committed in the 1, 60 and 1440 whole minutes before the current one (a
// steady rate; SAMA reported its previous calendar minute, hour and day,
// or nothing before the first).
func (a *API) serverStats(ctx context.Context, req httpauth.AdminRequest) (int, any, error) {
	up := int64(a.cfg.Now().Sub(a.cfg.Started) / time.Second)
	var uptime any = up
	if f := strings.ToLower(req.Query.Get("format")); f != "" && f != "0" && f != "false" {
		uptime = formatUptime(up)
	}
	deps := a.ping(ctx)
	status := "ok"
	for _, d := range deps {
		if d.Status != "ok" {
			status = "fail"
		}
	}
	var perMin, perHour, perDay int64
	if r := a.cfg.Rates; r != nil {
		perMin, perHour, perDay = r.last(1), r.last(60), r.last(dayMinutes)
	}
	return http.StatusOK, map[string]any{
		"hostname": a.cfg.Hostname, "status": status, "uptime": uptime, "uptime_seconds": uptime,
		"dependencies": deps, "online_users": a.cfg.Node.LocalUsers(), "connections": a.cfg.Node.Online(),
		"messages_per_minute": perMin, "messages_per_hour": perHour, "messages_per_day": perDay,
	}, nil
}

// ping checks every dependency at once, each within PingTimeout. A failure
// is logged and reported with its text: only holders of the admin key see
// it, and they are the ones who must fix it.
func (a *API) ping(ctx context.Context) []dependency {
	out := make([]dependency, len(a.cfg.Checks))
	var wg sync.WaitGroup
	for i, c := range a.cfg.Checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, a.cfg.PingTimeout)
			defer cancel()
			out[i] = dependency{Name: c.Name, Status: "ok"}
			if err := c.Ping(cctx); err != nil {
				a.log.Warn().Err(err).Str("dependency", c.Name).Msg("server-stats: dependency check failed")
				out[i].Status, out[i].Error = "fail", err.Error()
			}
		})
	}
	wg.Wait()
	return out
}

// formatUptime writes seconds as "1d 2h 3m 4s", leaving out leading zero
// units ("0s" for none).
func formatUptime(s int64) string {
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if v := s / u.n; v > 0 || (b.Len() > 0) || u.n == 1 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d%s", v, u.name)
		}
		s %= u.n
	}
	return b.String()
}

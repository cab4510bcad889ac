package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// fixture is the prepared state of a load run: users signed up and logged
// in (one device each) and, for fanout, their groups. Preparing costs two
// password hashes per user (about 80 ms of the gateway's CPU on a 2-core
// box: 13 minutes for 10,000 users), so a fixture can be saved and reused
// by later runs on a copy of the same database.
type fixture struct {
	Version int           `json:"version"`
	Users   []fixtureUser `json:"users"`
	Groups  int           `json:"groups,omitempty"`
	Members int           `json:"members,omitempty"`
	CIDs    []string      `json:"cids,omitempty"` // group g has users g*Members .. g*Members+Members-1; the first created it
}

// fixtureUser is one prepared user and its logged-in device.
type fixtureUser struct {
	Login  string `json:"login"`
	ID     string `json:"id"`
	Device string `json:"device"`
	Token  string `json:"token"`
}

const fixtureVersion = 1

// prepWorkers is how many users are signed up and logged in at once:
// enough to keep the gateway's hashing slots busy, well under its hashing
// queue (32).
const prepWorkers = 8

// ensureFixture loads path if it exists (it must have at least users users
// and, if groups > 0, exactly these groups), else prepares the fixture
// against addr and saves it to path (if not empty).
func ensureFixture(ctx context.Context, path, addr string, src net.IP, users, groups, members int, stderr io.Writer) (*fixture, error) {
	if path != "" {
		f, err := loadFixture(path)
		switch {
		case err == nil:
			if len(f.Users) < users || (groups > 0 && (f.Groups != groups || f.Members != members)) {
				return nil, fmt.Errorf("fixture %s has %d users, %d groups of %d; this run needs %d users, %d groups of %d",
					path, len(f.Users), f.Groups, f.Members, users, groups, members)
			}
			fmt.Fprintf(stderr, "bench: fixture %s: %d users, %d groups (tokens valid on the database it was made on)\n", path, len(f.Users), f.Groups)
			return f, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	start := time.Now()
	us, err := prepareUsers(ctx, addr, src, users, stderr)
	if err != nil {
		return nil, err
	}
	f := &fixture{Version: fixtureVersion, Users: us}
	fmt.Fprintf(stderr, "bench: %d users signed up and logged in in %s\n", users, time.Since(start).Round(time.Millisecond))
	if groups > 0 {
		start = time.Now()
		if f.CIDs, err = createGroups(ctx, addr, src, us, groups, members); err != nil {
			return nil, err
		}
		f.Groups, f.Members = groups, members
		fmt.Fprintf(stderr, "bench: %d groups of %d created in %s\n", groups, members, time.Since(start).Round(time.Millisecond))
	}
	if path != "" {
		b, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("save fixture: %w", err)
		}
	}
	return f, nil
}

// loadFixture reads a fixture saved by ensureFixture.
func loadFixture(path string) (*fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load fixture: %w", err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("load fixture %s: %w", path, err)
	}
	if f.Version != fixtureVersion {
		return nil, fmt.Errorf("load fixture %s: version %d, want %d", path, f.Version, fixtureVersion)
	}
	return &f, nil
}

// prepareUsers signs up n users over websockets (user_create) and logs each
// in over HTTP (POST /login) with a device of its own.
func prepareUsers(ctx context.Context, addr string, src net.IP, n int, stderr io.Writer) ([]fixtureUser, error) {
	run := strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
	hc := &http.Client{Transport: &http.Transport{
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}).DialContext,
		DisableKeepAlives: true,
	}}
	t, err := newTarget(addr)
	if err != nil {
		return nil, err
	}
	out := make([]fixtureUser, n)
	var done atomic.Int64
	start := time.Now()
	eg, ectx := errgroup.WithContext(ctx)
	for w := range min(prepWorkers, n) {
		eg.Go(func() error {
			c, err := dialWS(ectx, src, addr, 4096)
			if err != nil {
				return err
			}
			defer c.close()
			for i := w; i < n; i += prepWorkers {
				u := fixtureUser{Login: fmt.Sprintf("bench_%s_%d", run, i), Device: "bench-device-" + strconv.Itoa(i)}
				var created struct {
					User struct {
						ID string `json:"_id"`
					} `json:"user"`
				}
				if err := c.request(ectx, "u"+strconv.Itoa(i), "user_create",
					map[string]string{"login": u.Login, "password": "bench-password"}, &created); err != nil {
					return err
				}
				if u.ID = created.User.ID; u.ID == "" {
					return fmt.Errorf("user_create %s: no user id", u.Login)
				}
				if u.Token, err = login(ectx, hc, t, u.Login, "bench-password", u.Device); err != nil {
					return err
				}
				out[i] = u
				if d := done.Add(1); d%500 == 0 {
					per := time.Since(start) / time.Duration(d)
					fmt.Fprintf(stderr, "bench: %d of %d users ready (%s each, about %s left)\n",
						d, n, per.Round(time.Millisecond), (per * time.Duration(int64(n)-d)).Round(time.Second))
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, fmt.Errorf("prepare users: %w", err)
	}
	return out, nil
}

// createGroups makes groups group conversations of members users each: the
// first user of each block of members creates it with the others as
// participants.
func createGroups(ctx context.Context, addr string, src net.IP, users []fixtureUser, groups, members int) ([]string, error) {
	if members < 2 {
		return nil, errors.New("a group needs at least 2 members")
	}
	cids := make([]string, groups)
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	const workers = 4
	for w := range min(workers, groups) {
		eg.Go(func() error {
			c, err := dialWS(ectx, src, addr, 4096)
			if err != nil {
				return err
			}
			defer c.close()
			for g := w; g < groups; g += workers {
				owner := users[g*members]
				// A second connect re-binds the socket to the next owner.
				if err := c.request(ectx, "c", "connect", map[string]string{"token": owner.Token, "device_id": owner.Device}, nil); err != nil {
					return err
				}
				ids := make([]string, 0, members-1)
				for _, u := range users[g*members+1 : (g+1)*members] {
					ids = append(ids, u.ID)
				}
				var created struct {
					Conversation struct {
						ID string `json:"_id"`
					} `json:"conversation"`
				}
				if err := c.request(ectx, "g"+strconv.Itoa(g), "conversation_create", map[string]any{
					"type": "g", "name": "bench group " + strconv.Itoa(g), "participants": ids,
				}, &created); err != nil {
					return fmt.Errorf("group %d (%d members; is --max-participants at least that?): %w", g, members, err)
				}
				mu.Lock()
				cids[g] = created.Conversation.ID
				mu.Unlock()
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, fmt.Errorf("create groups: %w", err)
	}
	return cids, nil
}

// request sends {"request":{method:params,"id":id}} and reads frames until
// its response, decoding the response object into out (if not nil). An
// error reply is an error.
func (w *wsConn) request(ctx context.Context, id, method string, params, out any) error {
	frame, err := json.Marshal(map[string]any{"request": map[string]any{method: params, "id": id}})
	if err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok {
		_ = w.c.SetDeadline(d)
	} else {
		_ = w.c.SetDeadline(time.Now().Add(time.Minute))
	}
	defer func() { _ = w.c.SetDeadline(time.Time{}) }()
	stop := context.AfterFunc(ctx, func() { _ = w.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := w.writeText(frame); err != nil {
		return fmt.Errorf("%s: write: %w", method, err)
	}
	wantID := []byte(`"id":` + strconv.Quote(id))
	for {
		data, err := w.next()
		if err != nil {
			return fmt.Errorf("%s: read: %w", method, err)
		}
		if !bytes.HasPrefix(data, []byte(`{"response":`)) || !bytes.Contains(data, wantID) {
			continue // an event, or another reply
		}
		var env struct {
			Response map[string]json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(data, &env); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if string(env.Response["id"]) != strconv.Quote(id) {
			continue
		}
		if e, ok := env.Response["error"]; ok {
			return fmt.Errorf("%s: error %s", method, e)
		}
		if out == nil {
			return nil
		}
		b, _ := json.Marshal(env.Response)
		return json.Unmarshal(b, out)
	}
}

package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/gateway"
	"github.com/samagate/samagate/internal/testenv"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	gateway.RouteLibraryLogs(zerolog.Nop())
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) // nbio starts pool goroutines at package init
}

// node is one samagate started for a test on 127.0.0.1:0.
type node struct {
	t    testing.TB
	app  *app.App
	base string // http://127.0.0.1:port
	ws   string // ws://127.0.0.1:port/
	// http is this node's own client: a shared one could reuse a kept-alive
	// connection to an earlier node that had the same port, and a POST on
	// it fails with EOF.
	http *http.Client
	// wsHTTP dials websockets, each on a connection of its own, as a
	// browser does: a handshake sent on a kept-alive connection the node
	// was closing as idle at that moment failed with EOF (the cluster-mode
	// suite, about once in a few thousand dials).
	wsHTTP *http.Client
}

// clusterEnv, when set to 1, runs every test of this package against a node
// of a cluster: PostgreSQL store, Redis presence and bus, and a second,
// idle node beside it (scripts/test.sh runs the package both ways).
const clusterEnv = "SAMAGATE_TEST_GATEWAY_CLUSTER"

// startNode runs a whole gateway with cheap password hashing; tweak may
// adjust the config.
func startNode(t testing.TB, tweak func(*app.Config)) *node {
	t.Helper()
	if os.Getenv(clusterEnv) == "1" {
		nodes := startCluster(t, 2, tweak)
		return nodes[0]
	}
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()}
	cfg.HTTP.InsecureCookie = true
	cheapHashing(&cfg)
	if tweak != nil {
		tweak(&cfg)
	}
	return runNode(t, cfg)
}

// startCluster runs n nodes sharing a fresh PostgreSQL database and a fresh
// Redis key space (standalone Redis).
func startCluster(t testing.TB, n int, tweak func(*app.Config)) []*node {
	t.Helper()
	dbURL := testenv.Database(t)
	redisURL := testenv.Lookup(t, testenv.RedisEnv)
	prefix := testenv.RedisPrefix()
	nodes := make([]*node, n)
	for i := range nodes {
		cfg := app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: dbURL, RedisURL: redisURL}
		cfg.Redis.Prefix = prefix
		cfg.Redis.NodeID = fmt.Sprintf("node%d", i+1)
		cfg.Redis.Heartbeat = 200 * time.Millisecond
		cfg.Redis.DeadAfter = time.Second
		cfg.Postgres.MaxConns = 8
		cfg.HTTP.InsecureCookie = true
		cheapHashing(&cfg)
		if tweak != nil {
			tweak(&cfg)
		}
		nodes[i] = runNode(t, cfg)
	}
	return nodes
}

// unlimited turns the abuse limits off (request rates, frames in flight)
// for tests that load a node on purpose: ordering under a burst, replay of
// a long backlog, slow consumers, benchmarks. The limits have tests of
// their own.
func unlimited(c *app.Config) {
	g := &c.Gateway
	off := gateway.Rate{PerSecond: -1}
	g.SocketRequests, g.UserRequests, g.UserMessages, g.UserSystemMessages, g.UserTyping = off, off, off, off, off
	g.MaxInflightFrames, g.MaxInflightBytes = -1, -1
}

// runNode starts one node and stops it when t ends.
func runNode(t testing.TB, cfg app.Config) *node {
	t.Helper()
	log := zerolog.New(io.Discard)
	if os.Getenv("SAMAGATE_TEST_LOG") != "" {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.DebugLevel)
	}
	a := app.New(cfg, log)
	if err := a.Run(context.Background()); err != nil {
		t.Fatalf("run app: %v", err)
	}
	n := &node{t: t, app: a, base: "http://" + a.Addr().String(), ws: "ws://" + a.Addr().String() + "/",
		http:   &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second},
		wsHTTP: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}}
	t.Cleanup(n.http.CloseIdleConnections)
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	return n
}

// client is one test websocket with transcript helpers.
type client struct {
	t testing.TB
	c *websocket.Conn
}

// dial opens a websocket to the node.
func (n *node) dial(t testing.TB) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The node's own client (http.DefaultClient could reuse a kept-alive
	// connection to an earlier node that had the same port), and a fresh
	// connection per dial (node.wsHTTP).
	c, _, err := websocket.Dial(ctx, n.ws, &websocket.DialOptions{HTTPClient: n.wsHTTP})
	if err != nil && errors.Is(err, io.EOF) {
		// A known fault of the event loop library, not of the code under
		// test here: about one upgrade in 20,000 gets EOF while the server
		// closes other sockets (a closed descriptor's number is reused
		// while an event of it is still pending). A client reconnects; so
		// does this one, once, and the log keeps it visible.
		t.Logf("dial: %v; dialling again", err)
		c, _, err = websocket.Dial(ctx, n.ws, &websocket.DialOptions{HTTPClient: n.wsHTTP})
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(4 << 20)
	cl := &client{t: t, c: c}
	t.Cleanup(func() { _ = c.CloseNow() })
	return cl
}

// send writes one raw frame.
func (c *client) send(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatalf("send %s: %v", frame, err)
	}
}

// read returns the next frame, failing after the timeout.
func (c *client) read(timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, data, err := c.c.Read(ctx)
	return data, err
}

// expect reads the next frame and matches it against a pattern (see match).
// It returns the decoded frame for the caller to pick values from.
func (c *client) expect(pattern string) map[string]any {
	c.t.Helper()
	data, err := c.read(5 * time.Second)
	if err != nil {
		c.t.Fatalf("expect %s: read: %v", pattern, err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		c.t.Fatalf("expect %s: got non-JSON frame %q", pattern, data)
	}
	var want any
	if err := json.Unmarshal([]byte(pattern), &want); err != nil {
		c.t.Fatalf("bad pattern %s: %v", pattern, err)
	}
	if err := match("$", got, want); err != nil {
		c.t.Fatalf("frame mismatch: %v\n got: %s\nwant: %s", err, data, pattern)
	}
	return got
}

// roundTrip sends a frame and expects one reply.
func (c *client) roundTrip(frame, pattern string) map[string]any {
	c.t.Helper()
	c.send(frame)
	return c.expect(pattern)
}

// expectClose reads until the server closes the socket and checks the code.
func (c *client) expectClose(code websocket.StatusCode) {
	c.t.Helper()
	for {
		data, err := c.read(5 * time.Second)
		if err == nil {
			continue // frames queued before the close
		}
		if got := websocket.CloseStatus(err); got != code {
			c.t.Fatalf("close: got status %d (%v), want %d (last frame %s)", got, err, code, data)
		}
		return
	}
}

// match compares a decoded frame with a pattern. In the pattern the string
// "<any>" matches any value, "<string>" any non-empty string, "<number>" any
// number; objects must have exactly the pattern's keys unless the pattern
// has the key "...", which allows extra keys.
func match(path string, got, want any) error {
	switch w := want.(type) {
	case string:
		switch w {
		case "<any>":
			return nil
		case "<string>":
			if s, ok := got.(string); !ok || s == "" {
				return fmt.Errorf("%s: got %v, want a non-empty string", path, got)
			}
			return nil
		case "<number>":
			if _, ok := got.(float64); !ok {
				return fmt.Errorf("%s: got %v, want a number", path, got)
			}
			return nil
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", path, got)
		}
		_, loose := w["..."]
		for k, wv := range w {
			if k == "..." {
				continue
			}
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: missing key %q", path, k)
			}
			if err := match(path+"."+k, gv, wv); err != nil {
				return err
			}
		}
		if !loose {
			var extra []string
			for k := range g {
				if _, ok := w[k]; !ok {
					extra = append(extra, k)
				}
			}
			if len(extra) > 0 {
				sort.Strings(extra)
				return fmt.Errorf("%s: unexpected keys %v", path, extra)
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %d items", path, got, len(w))
		}
		for i := range w {
			if err := match(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s: got %#v, want %#v", path, got, want)
	}
	return nil
}

// str digs a string out of a decoded frame by a dotted path.
func str(t testing.TB, m map[string]any, path string) string {
	t.Helper()
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("path %s: %v is not an object", path, cur)
		}
		cur = o[k]
	}
	s, ok := cur.(string)
	if !ok {
		t.Fatalf("path %s: got %#v, want a string", path, cur)
	}
	return s
}

// account is a signed-up user.
type account struct {
	id, login, password string
}

// signUp creates a user over a fresh socket.
func (n *node) signUp(t testing.TB, login string) account {
	t.Helper()
	c := n.dial(t)
	pw := "pw-" + login
	got := c.roundTrip(
		fmt.Sprintf(`{"request":{"user_create":{"login":%q,"password":%q,"email":%q},"id":"su"}}`, login, pw, login+"@example.com"),
		`{"response":{"id":"su","user":{"...":true,"_id":"<string>","native_id":"<string>","login":"<string>"}}}`)
	_ = c.c.Close(websocket.StatusNormalClosure, "")
	return account{id: str(t, got, "response.user._id"), login: login, password: pw}
}

// httpLogin posts /login and returns the status, body and response.
func (n *node) httpLogin(t testing.TB, body string, mod func(*http.Request)) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, n.base+"/login", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if mod != nil {
		mod(req)
	}
	resp, err := n.http.Do(req)
	if errors.Is(err, io.EOF) {
		// Seen twice in many runs of the cluster-mode suite: a fresh client's
		// first POST to a fresh node ended with EOF, no response. Cause not
		// found; a login is safe to send again, and the log keeps it visible.
		t.Logf("post /login: %v; sending it again", err)
		req, _ = http.NewRequest(http.MethodPost, n.base+"/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if mod != nil {
			mod(req)
		}
		resp, err = n.http.Do(req)
	}
	if err != nil {
		t.Fatalf("post /login: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(bytes.TrimSpace(b)), resp
}

// token logs a in over HTTP for device and returns the access token.
func (n *node) token(t testing.TB, a account, device string) (string, *http.Response) {
	t.Helper()
	status, body, resp := n.httpLogin(t,
		fmt.Sprintf(`{"login":%q,"password":%q,"device_id":%q}`, a.login, a.password, device), nil)
	if status != http.StatusOK {
		t.Fatalf("login %s: got %d %s, want 200", a.login, status, body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.AccessToken == "" {
		t.Fatalf("login %s: no token in %s", a.login, body)
	}
	return out.AccessToken, resp
}

// connected dials a socket and binds it as a on device.
func (n *node) connected(t testing.TB, a account, device string) *client {
	t.Helper()
	tok, _ := n.token(t, a, device)
	return n.connectWith(t, tok, device)
}

func (n *node) connectWith(t testing.TB, token, device string) *client {
	t.Helper()
	c := n.dial(t)
	c.roundTrip(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":%q},"id":"cn"}}`, token, device),
		`{"response":{"id":"cn","success":true}}`)
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

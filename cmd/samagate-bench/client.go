package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// target is the gateway under test.
type target struct {
	httpBase string // http://127.0.0.1:9001
	wsURL    string // ws://127.0.0.1:9001/
}

func newTarget(addr string) (target, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return target{}, fmt.Errorf("target %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return target{}, fmt.Errorf("target %q: only loopback addresses may be load-tested", addr)
	}
	return target{httpBase: "http://" + addr, wsURL: "ws://" + addr + "/"}, nil
}

// dialer opens websockets from one source address.
type dialer struct {
	src    net.IP
	client *http.Client
}

func newDialer(src net.IP) *dialer {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	return &dialer{src: src, client: &http.Client{Transport: &http.Transport{
		DialContext:       d.DialContext,
		DisableKeepAlives: true,
	}}}
}

// wsDial opens one websocket.
func (d *dialer) wsDial(ctx context.Context, t target) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, t.wsURL, &websocket.DialOptions{HTTPClient: d.client})
	if err != nil {
		return nil, fmt.Errorf("dial from %s: %w", d.src, err)
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

// call sends one request frame and reads frames until its response arrives.
func call(ctx context.Context, c *websocket.Conn, id, method string, params any) (map[string]json.RawMessage, error) {
	frame, err := json.Marshal(map[string]any{"request": map[string]any{method: params, "id": id}})
	if err != nil {
		return nil, err
	}
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		return nil, fmt.Errorf("%s: write: %w", method, err)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: read: %w", method, err)
		}
		var env struct {
			Response map[string]json.RawMessage `json:"response"`
		}
		if json.Unmarshal(data, &env) != nil || env.Response == nil {
			continue // an event; not ours
		}
		if string(env.Response["id"]) != fmt.Sprintf("%q", id) {
			continue
		}
		if e, ok := env.Response["error"]; ok {
			return nil, fmt.Errorf("%s: error %s", method, e)
		}
		return env.Response, nil
	}
}

// login calls POST /login and returns the access token.
func login(ctx context.Context, hc *http.Client, t target, loginName, password, device string) (string, error) {
	body, _ := json.Marshal(map[string]string{"login": loginName, "password": password, "device_id": device})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.httpBase+"/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	for try := 1; err != nil && try < 3 && ctx.Err() == nil; try++ {
		// A kept-alive connection the gateway closed at the moment of reuse
		// ends in EOF; POST is not retried by net/http, so it is here (a
		// second login only opens one more session of a bench user).
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, t.httpBase+"/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err = hc.Do(req)
	}
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login %s: %d %s", loginName, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("login %s: no access_token in %q", loginName, data)
	}
	return out.AccessToken, nil
}

// sources parses a list like "127.0.0.1-127.0.0.9" or "127.0.0.1,127.0.0.2".
func sources(spec string) ([]net.IP, error) {
	var out []net.IP
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a := net.ParseIP(lo).To4()
		if a == nil || !a.IsLoopback() {
			return nil, fmt.Errorf("source %q: want a loopback IPv4 address", lo)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b := net.ParseIP(hi).To4()
		if b == nil || !b.IsLoopback() || b[3] < a[3] || a[0] != b[0] || a[1] != b[1] || a[2] != b[2] {
			return nil, fmt.Errorf("source range %q: want e.g. 127.0.0.1-127.0.0.9", part)
		}
		for i := a[3]; ; i++ {
			out = append(out, net.IPv4(a[0], a[1], a[2], i).To4())
			if i == b[3] {
				break
			}
		}
	}
	return out, nil
}

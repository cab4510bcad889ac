package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestRawWebsocket speaks to a real websocket server (coder/websocket):
// the three length encodings, a fragmented message, a ping that must be
// answered, the client's masked frames, and a close code.
func TestRawWebsocket(t *testing.T) {
	long := strings.Repeat("x", 70_000) // 64-bit length, larger than the read buffer
	mid := strings.Repeat("m", 300)     // 16-bit length
	frag := strings.Repeat("f", 10_000) // the library sends it in several frames
	serverErr := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(rw, r, nil)
		if err != nil {
			serverErr <- err
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		serverErr <- func() error {
			for _, m := range []string{"small", mid, long} {
				if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
					return err
				}
			}
			w, err := c.Writer(ctx, websocket.MessageText)
			if err != nil {
				return err
			}
			for i := 0; i < len(frag); i += 1000 {
				if _, err := w.Write([]byte(frag[i : i+1000])); err != nil {
					return err
				}
			}
			if err := w.Close(); err != nil {
				return err
			}
			// Ping waits for the pong, which CloseRead's reader sees.
			_ = c.CloseRead(ctx)
			if err := c.Ping(ctx); err != nil {
				return err
			}
			return c.Close(4000, "slow consumer")
		}()
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := dialWS(ctx, nil, strings.TrimPrefix(srv.URL, "http://"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	for _, want := range []string{"small", mid, long, frag} {
		got, err := w.next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, []byte(want)) {
			t.Fatalf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(want), want)
		}
	}
	_, err = w.next() // answers the ping, then sees the close
	var ce *closeError
	if !errors.As(err, &ce) || ce.code != 4000 {
		t.Fatalf("got %v, want close code 4000", err)
	}
	if err := <-serverErr; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// TestRawWebsocketWrite: the server unmasks what the client writes.
func TestRawWebsocketWrite(t *testing.T) {
	got := make(chan string, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(rw, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		for range 3 {
			_, data, err := c.Read(r.Context())
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(data)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := dialWS(ctx, nil, strings.TrimPrefix(srv.URL, "http://"), 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	for _, m := range []string{`{"request":{"ping":{},"id":"1"}}`, strings.Repeat("a", 200), strings.Repeat("b", 70_000)} {
		if err := w.writeText([]byte(m)); err != nil {
			t.Fatal(err)
		}
		if g := <-got; g != m {
			t.Fatalf("server read %.30q (%d bytes), want %.30q (%d bytes)", g, len(g), m, len(m))
		}
	}
}

// TestDialRefusesNonWebsocket: a plain HTTP answer is an error, in time.
func TestDialRefusesNonWebsocket(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if w, err := dialWS(ctx, nil, strings.TrimPrefix(srv.URL, "http://"), 1024); err == nil {
		w.close()
		t.Fatal("dial of a non-websocket server succeeded")
	}
}

// TestReactor: a detached socket read by a reactor gets the same messages
// as the blocking reader (a frame larger than its buffer, a fragmented
// one), answers pings, writes frames the server reads, and reports the
// server's close code.
func TestReactor(t *testing.T) {
	long := strings.Repeat("x", 70_000)
	frag := strings.Repeat("f", 10_000)
	fromClient := make(chan string, 1)
	handedOver := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(rw, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		// Before the hand-over: a request and its reply.
		if _, data, err := c.Read(ctx); err != nil || string(data) != "hello" {
			return
		}
		// "small" comes with the reply, so the hand-over carries it in the
		// read buffer; the rest is read by the reactor.
		_ = c.Write(ctx, websocket.MessageText, []byte("welcome"))
		_ = c.Write(ctx, websocket.MessageText, []byte("small"))
		select {
		case <-handedOver:
		case <-ctx.Done():
			return
		}
		_ = c.Write(ctx, websocket.MessageText, []byte(long))
		if w, err := c.Writer(ctx, websocket.MessageText); err == nil {
			for i := 0; i < len(frag); i += 1000 {
				_, _ = w.Write([]byte(frag[i : i+1000]))
			}
			_ = w.Close()
		}
		_, data, err := c.Read(ctx) // the client's write after the hand-over
		if err == nil {
			fromClient <- string(data)
		}
		_ = c.CloseRead(ctx)
		if c.Ping(ctx) == nil {
			_ = c.Close(4000, "slow consumer")
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := dialWS(ctx, nil, strings.TrimPrefix(srv.URL, "http://"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.writeText([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got, err := w.next(); err != nil || string(got) != "welcome" {
		t.Fatalf("before the hand-over: %q, %v", got, err)
	}
	for w.br.Buffered() < len("small")+2 { // wait until "small" is in the read buffer
		if _, err := w.br.Peek(w.br.Buffered() + 1); err != nil {
			t.Fatal(err)
		}
	}
	c, err := detach(w)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan string, 10)
	closed := make(chan error, 1)
	r, err := newReactor(func(_ *rconn, m []byte, _ int64) { msgs <- string(m) }, func(_ *rconn, err error) { closed <- err })
	if err != nil {
		t.Fatal(err)
	}
	if err := r.add(c); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.run(); close(done) }()
	select { // "small" is handled before any more data arrives
	case got := <-msgs:
		if got != "small" {
			t.Fatalf("first message %.20q, want small", got)
		}
	case <-ctx.Done():
		t.Fatal("the bytes handed over were not handled")
	}
	close(handedOver)
	defer func() { r.stop.Store(true); <-done; r.shutdown() }()
	for _, want := range []string{long, frag} {
		select {
		case got := <-msgs:
			if got != want {
				t.Fatalf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(want), want)
			}
		case <-ctx.Done():
			t.Fatalf("no message %.20q", want)
		}
	}
	if err := c.writeText([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if got := <-fromClient; got != "after" {
		t.Fatalf("server read %q", got)
	}
	select {
	case err := <-closed:
		var ce *closeError
		if !errors.As(err, &ce) || ce.code != 4000 {
			t.Fatalf("closed with %v, want code 4000", err)
		}
	case <-ctx.Done():
		t.Fatal("the close was not reported")
	}
}

// TestParseFramePartial: a frame cut anywhere is incomplete, not an error.
func TestParseFramePartial(t *testing.T) {
	for _, n := range []int{5, 200, 70_000} {
		frame := []byte{0x81}
		switch {
		case n < 126:
			frame = append(frame, byte(n))
		case n < 1<<16:
			frame = append(frame, 126, byte(n>>8), byte(n))
		default:
			frame = append(frame, 127, 0, 0, 0, 0, 0, byte(n>>16), byte(n>>8), byte(n))
		}
		frame = append(frame, bytes.Repeat([]byte("p"), n)...)
		for cut := 0; cut < len(frame); cut += max(1, len(frame)/50) {
			if _, _, _, size, err := parseFrame(frame[:cut]); size != 0 || err != nil {
				t.Fatalf("%d-byte payload cut at %d: size %d, err %v", n, cut, size, err)
			}
		}
		fin, op, p, size, err := parseFrame(append(frame, 0x81, 0))
		if err != nil || !fin || op != opText || len(p) != n || size != len(frame) {
			t.Fatalf("%d-byte payload: fin %v op %d len %d size %d err %v", n, fin, op, len(p), size, err)
		}
	}
}

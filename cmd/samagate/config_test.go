package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// nbio starts pool goroutines at package init; IgnoreCurrent skips those.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfigDefaults(t *testing.T) {
	c, o, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9001" || c.DataDir != "data" || o.logLevel != "info" {
		t.Fatalf("defaults: got addr %q dir %q level %q, want :9001 data info", c.Addr, c.DataDir, o.logLevel)
	}
	if c.Gateway.MaxFrameBytes != 64<<10 || c.Auth.AccessTTL != 3*time.Hour {
		t.Fatalf("defaults: got frame %d ttl %s", c.Gateway.MaxFrameBytes, c.Auth.AccessTTL)
	}
	if c.Gateway.DrainWindow != 10*time.Second || c.Gateway.ShutdownTimeout != 10*time.Second {
		t.Fatalf("defaults: got drain window %s, shutdown timeout %s; want 10s and 10s", c.Gateway.DrainWindow, c.Gateway.ShutdownTimeout)
	}
	c, _, err = parseConfig(nil, env(map[string]string{"SAMAGATE_DRAIN_WINDOW": "3s"}), &bytes.Buffer{})
	if err != nil || c.Gateway.DrainWindow != 3*time.Second {
		t.Fatalf("SAMAGATE_DRAIN_WINDOW=3s: got %s, %v", c.Gateway.DrainWindow, err)
	}
}

func TestParseConfigEnvAndFlags(t *testing.T) {
	e := env(map[string]string{
		"SAMAGATE_ADDR":            "127.0.0.1:7000",
		"SAMAGATE_PING_INTERVAL":   "5s",
		"SAMAGATE_CORS_ORIGINS":    "https://a.example, https://b.example",
		"SAMAGATE_INSECURE_COOKIE": "true",
	})
	c, _, err := parseConfig([]string{"--addr", "127.0.0.1:8000"}, e, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8000" {
		t.Fatalf("flag over env: got %q, want 127.0.0.1:8000", c.Addr)
	}
	if c.Gateway.PingInterval != 5*time.Second || !c.HTTP.InsecureCookie {
		t.Fatalf("env: got ping %s insecure %v", c.Gateway.PingInterval, c.HTTP.InsecureCookie)
	}
	if got := strings.Join(c.HTTP.AllowedOrigins, "|"); got != "https://a.example|https://b.example" {
		t.Fatalf("origins: got %q", got)
	}
}

func TestParseConfigCluster(t *testing.T) {
	e := env(map[string]string{
		"SAMAGATE_DATABASE_URL":           "postgres://u:p@db:5432/sg",
		"SAMAGATE_REDIS_URL":              "10.0.0.1:7000,10.0.0.2:7000",
		"SAMAGATE_NODE_ID":                "node-a",
		"SAMAGATE_PG_MAX_CONNS":           "40",
		"SAMAGATE_NODE_DEAD_AFTER":        "8s",
		"SAMAGATE_LOGIN_THROTTLE_ACCOUNT": "4",
	})
	c, _, err := parseConfig([]string{"--pg-min-conns", "2"}, e, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://u:p@db:5432/sg" || c.RedisURL != "10.0.0.1:7000,10.0.0.2:7000" || c.Redis.NodeID != "node-a" {
		t.Fatalf("cluster settings: got %q %q %q", c.DatabaseURL, c.RedisURL, c.Redis.NodeID)
	}
	if c.Auth.Throttle.PerAccount != 4 || c.Auth.Throttle.PerAddress != 50 || c.Auth.Throttle.Block != 5*time.Minute {
		t.Fatalf("throttle: got %+v", c.Auth.Throttle)
	}
	if c.Postgres.MaxConns != 40 || c.Postgres.MinConns != 2 || c.Redis.DeadAfter != 8*time.Second || c.Redis.Heartbeat != time.Second {
		t.Fatalf("pool and timings: got %+v %+v", c.Postgres, c.Redis)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  map[string]string
	}{
		"bad env duration": {env: map[string]string{"SAMAGATE_PING_INTERVAL": "soon"}},
		"unknown flag":     {args: []string{"--nope"}},
		"stray argument":   {args: []string{"extra"}},
		"pool too small":   {args: []string{"--pg-max-conns", "0"}},
		"min over max":     {args: []string{"--pg-max-conns", "4", "--pg-min-conns", "5"}},
		"rate no burst":    {args: []string{"--user-message-rate", "20"}},
		"hash memory zero": {args: []string{"--hash-memory-kib", "0"}},
		"hash time zero":   {args: []string{"--hash-time", "0"}},
		"rate zero":        {args: []string{"--socket-rate", "0:10"}},
		"rate bad burst":   {args: []string{"--user-rate", "10:0"}},
		"rate not number":  {env: map[string]string{"SAMAGATE_USER_TYPING_RATE": "fast:5"}},
		"drain negative":   {args: []string{"--drain-window", "-1s"}},
		"shutdown zero":    {env: map[string]string{"SAMAGATE_SHUTDOWN_TIMEOUT": "0s"}},
		"upload cap zero":  {args: []string{"--max-upload-bytes", "0"}},
		"file url ttl 0":   {env: map[string]string{"SAMAGATE_FILE_URL_TTL": "0s"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{}); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}

// TestParseConfigLimits: the abuse limits are flags with the documented
// defaults; a rate is PER_SECOND:BURST or off.
func TestParseConfigLimits(t *testing.T) {
	c, _, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	g, a := c.Gateway, c.Auth
	if g.UserMessages.PerSecond != 20 || g.UserMessages.Burst != 50 || g.SocketRequests.PerSecond != 50 ||
		g.MaxInflightFrames != 256 || g.MaxSocketsPerUser != 100 || g.MaxSocketsPerAddress != 2000 {
		t.Fatalf("gateway limit defaults: got %+v", g)
	}
	if a.Throttle.SecondFactor != 5 || a.Throttle.SignupPerAddress != 30 || a.MaxSessionsPerUser != 50 ||
		a.HashQueue != 32 || a.PruneInterval != time.Hour || c.Chat.MaxListIDs != 100 {
		t.Fatalf("auth and chat limit defaults: got %+v %+v", a, c.Chat)
	}
	c, _, err = parseConfig([]string{"--user-message-rate", "2.5:7", "--socket-rate", "off", "--signup-throttle-address", "-1"},
		env(map[string]string{"SAMAGATE_USER_TYPING_RATE": "1:3"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	g = c.Gateway
	if g.UserMessages.PerSecond != 2.5 || g.UserMessages.Burst != 7 || g.SocketRequests.PerSecond >= 0 ||
		g.UserTyping.PerSecond != 1 || g.UserTyping.Burst != 3 || c.Auth.Throttle.SignupPerAddress != -1 {
		t.Fatalf("set limits: got %+v %+v", g, c.Auth.Throttle)
	}
	if c.Auth.Hash.MemoryKiB != 19*1024 || c.Auth.Hash.Time != 2 || weakHashing(c.Auth.Hash.MemoryKiB, c.Auth.Hash.Time) {
		t.Fatalf("hash defaults: got %+v, want OWASP's 19456 KiB, 2 passes", c.Auth.Hash)
	}
	if !weakHashing(64, 1) || weakHashing(12288, 3) || !weakHashing(12288, 2) {
		t.Fatal("weakHashing disagrees with OWASP's pairs")
	}
	if got := (*rateFlag)(&g.UserMessages).String(); got != "2.5:7" {
		t.Fatalf("rate flag round trip: got %q, want 2.5:7", got)
	}
}

func TestHelpListsEnv(t *testing.T) {
	var out bytes.Buffer
	_, _, err := parseConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"--addr", "SAMAGATE_ADDR", `default ":9001"`, "SAMAGATE_SEND_QUEUE_BYTES"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestParseConfigContacts: the address-book caps are flags and variables.
func TestParseConfigContacts(t *testing.T) {
	c, _, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Contacts.MaxPerUser != 10_000 || c.Contacts.MaxBatch != 100 {
		t.Fatalf("contacts defaults: got %+v", c.Contacts)
	}
	c, _, err = parseConfig([]string{"--max-contacts", "-1"}, env(map[string]string{"SAMAGATE_MAX_CONTACT_BATCH": "20"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Contacts.MaxPerUser != -1 || c.Contacts.MaxBatch != 20 {
		t.Fatalf("contacts flags: got %+v", c.Contacts)
	}
}

// TestParseConfigFiles: attachment flags and their environment twins.
func TestParseConfigFiles(t *testing.T) {
	c, _, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Files; f.MaxUploadBytes != 25<<20 || f.URLTTL != time.Hour || f.UnattachedTTL != 24*time.Hour || f.S3.Endpoint != "" {
		t.Fatalf("defaults: %+v", f)
	}
	c, _, err = parseConfig([]string{"--s3-endpoint", "http://minio:9000", "--s3-path-style", "--max-upload-bytes", "1000"},
		env(map[string]string{"SAMAGATE_S3_BUCKET": "b", "SAMAGATE_S3_ACCESS_KEY": "k", "SAMAGATE_S3_SECRET_KEY": "s",
			"SAMAGATE_PUBLIC_URL": "https://chat.example.com"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Files
	if f.S3.Endpoint != "http://minio:9000" || !f.S3.PathStyle || f.S3.Bucket != "b" || f.S3.AccessKey != "k" ||
		f.S3.SecretKey != "s" || f.MaxUploadBytes != 1000 || f.PublicURL != "https://chat.example.com" {
		t.Fatalf("set: %+v", f)
	}
}

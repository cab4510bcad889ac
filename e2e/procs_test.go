package e2e_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/samagate/samagate/internal/testenv"
)

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// samagateBinary builds cmd/samagate once per test binary.
func samagateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "samagate-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "samagate")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/samagate/samagate/cmd/samagate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a child process the test can kill.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startProc starts name with args, logging to a file in dir.
func startProc(t *testing.T, dir, name, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill ends the process at once (SIGKILL: no graceful shutdown) and waits.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// tail returns the end of the process log, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// all returns the whole process log.
func (p *proc) all() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, p *proc, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited; log:\n%s", p.name, p.tail())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not answer %s; log:\n%s", p.name, url, p.tail())
}

// redisServer is a Redis the test owns, so it can restart it.
type redisServer struct {
	t    *testing.T
	dir  string
	port int
	p    *proc
}

func startRedis(t *testing.T, dir string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: install Debian's redis-server (scripts/test.sh does)")
	}
	r := &redisServer{t: t, dir: dir, port: freePort(t)}
	r.start(bin)
	return r
}

func (r *redisServer) start(bin string) {
	r.t.Helper()
	r.p = startProc(r.t, r.dir, "redis", bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", r.addr(), 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("redis did not start; log:\n%s", r.p.tail())
}

// restart kills Redis (all data is lost: no persistence) and starts it again
// on the same port.
// restart kills Redis and starts it again, empty, after down.
func (r *redisServer) restart(down time.Duration) {
	r.t.Helper()
	bin := r.p.cmd.Path
	r.p.kill()
	time.Sleep(down)
	r.start(bin)
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// terminate sends SIGTERM (graceful shutdown) and waits for the exit, at
// most within; it returns the exit code (-1 when killed after within).
func (p *proc) terminate(t *testing.T, within time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Errorf("%s did not exit within %v of SIGTERM; log:\n%s", p.name, within, p.tail())
		p.kill()
		return -1
	}
}

// pgServer is a PostgreSQL cluster the test owns, so it can stop and start
// it: initdb in a temp dir, trust auth, loopback only, no fsync (as
// scripts/test.sh; run as the postgres user when the test runs as root).
type pgServer struct {
	t    *testing.T
	bin  string // the newest /usr/lib/postgresql/*/bin with a server
	data string
	port int
	as   []string // runuser -u postgres -- when root
}

// startPostgres starts a private PostgreSQL. It needs the server binaries
// (scripts/test.sh installs them); the test skips where `make test` did not
// run it.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	testenv.Lookup(t, testenv.DatabaseEnv) // make test: the server binaries are installed
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	pg := &pgServer{t: t, port: freePort(t)}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			pg.bin = d
			break
		}
	}
	if pg.bin == "" {
		t.Fatal("no PostgreSQL server under /usr/lib/postgresql/*/bin (scripts/test.sh installs it)")
	}
	dir, err := os.MkdirTemp("", "samagate-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres user must reach data
		t.Fatal(err)
	}
	pg.data = filepath.Join(dir, "pg")
	if err := os.Mkdir(pg.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user (scripts/test.sh creates it): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		if err := os.Chown(pg.data, uid, -1); err != nil {
			t.Fatal(err)
		}
		pg.as = []string{"runuser", "-u", "postgres", "--"}
	}
	pg.run("initdb", "-D", pg.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
	t.Cleanup(func() { _ = pg.cmd("pg_ctl", "-D", pg.data, "-m", "immediate", "-w", "stop").Run() })
	pg.start()
	return pg
}

// pgVersion is the major version in a /usr/lib/postgresql/<n>/bin path.
func pgVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func (pg *pgServer) cmd(tool string, args ...string) *exec.Cmd {
	argv := append(append(slices.Clone(pg.as), filepath.Join(pg.bin, tool)), args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (pg *pgServer) run(tool string, args ...string) {
	pg.t.Helper()
	if out, err := pg.cmd(tool, args...).CombinedOutput(); err != nil {
		pg.t.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

// start starts the server and waits until it accepts connections.
func (pg *pgServer) start() {
	pg.t.Helper()
	pg.run("pg_ctl", "-D", pg.data, "-l", filepath.Join(pg.data, "server.log"), "-w", "-t", "30", "start",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off", pg.port, pg.data))
}

// stop shuts the server down (fast: open connections are ended).
func (pg *pgServer) stop() {
	pg.t.Helper()
	pg.run("pg_ctl", "-D", pg.data, "-m", "fast", "-w", "stop")
}

func (pg *pgServer) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

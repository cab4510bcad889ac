package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type compose struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
}

// flags lists the samagate flags from its --help.
func flags(t *testing.T) map[string]bool {
	t.Helper()
	out, _ := exec.Command("go", "run", "github.com/samagate/samagate/cmd/samagate", "--help").CombinedOutput()
	got := map[string]bool{}
	for _, m := range regexp.MustCompile(`--([a-z0-9-]+) \((SAMAGATE_[A-Z0-9_]+),`).FindAllStringSubmatch(string(out), -1) {
		got[m[2]] = true
	}
	if len(got) < 10 {
		t.Fatalf("could not read the flags from --help:\n%s", out)
	}
	return got
}

// TestComposeMatchesCode: the compose file parses, runs three nodes with
// distinct ids on one Redis and one PostgreSQL, sets only variables samagate
// knows, and the load balancer lists exactly those nodes.
func TestComposeMatchesCode(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	known := flags(t)
	var nodes, ids []string
	for name, s := range c.Services {
		if s.Build == nil {
			continue
		}
		nodes = append(nodes, name)
		for k := range s.Environment {
			if strings.HasPrefix(k, "SAMAGATE_") && !known[k] {
				t.Errorf("%s sets %s, which samagate does not know", name, k)
			}
		}
		for _, k := range []string{"SAMAGATE_DATABASE_URL", "SAMAGATE_REDIS_URL", "SAMAGATE_NODE_ID"} {
			if s.Environment[k] == "" {
				t.Errorf("%s: %s is not set", name, k)
			}
		}
		if !strings.Contains(s.Environment["SAMAGATE_REDIS_URL"], "redis:6379") || !strings.Contains(s.Environment["SAMAGATE_DATABASE_URL"], "@postgres:5432/") {
			t.Errorf("%s does not use the compose redis and postgres services", name)
		}
		ids = append(ids, s.Environment["SAMAGATE_NODE_ID"])
	}
	slices.Sort(nodes)
	slices.Sort(ids)
	if len(nodes) != 3 || len(slices.Compact(slices.Clone(ids))) != 3 {
		t.Fatalf("want three nodes with distinct ids, got %v with ids %v", nodes, ids)
	}
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	var upstream []string
	for _, m := range regexp.MustCompile(`(?m)^\s*server ([a-z0-9]+):9001\b`).FindAllStringSubmatch(string(conf), -1) {
		upstream = append(upstream, m[1])
	}
	slices.Sort(upstream)
	if !slices.Equal(upstream, nodes) {
		t.Errorf("nginx upstream %v, compose nodes %v", upstream, nodes)
	}
	if !slices.Contains(c.Services["nginx"].Volumes, "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro") {
		t.Errorf("nginx does not mount deploy/nginx.conf: %v", c.Services["nginx"].Volumes)
	}
}

// TestNginxConfigValid runs `nginx -t` on the config, with the node names
// pointed at loopback (nginx resolves upstream names while testing).
func TestNginxConfigValid(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			t.Fatal("nginx not found: install Debian's nginx package (scripts/test.sh does)")
		}
		bin = "/usr/sbin/nginx"
	}
	conf, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	local := regexp.MustCompile(`samagate[0-9]:9001`).ReplaceAllString(string(conf), "127.0.0.1:9001")
	local = strings.Replace(local, "events {", "pid "+filepath.Join(dir, "nginx.pid")+";\nerror_log stderr;\n\nevents {", 1)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-q", "-c", path, "-p", dir, "-e", "stderr").CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

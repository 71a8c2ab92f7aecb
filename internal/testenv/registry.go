package testenv

import (
	"encoding/base64"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Registry is a docker-registry (Debian's docker-registry package, the
// distribution registry) serving on 127.0.0.1 from a temporary directory.
type Registry struct {
	// Host is 127.0.0.1:PORT.
	Host string
	// User and Password, with htpasswd auth.
	User, Password string
	Dir            string
}

// StartRegistry starts a registry for the test on a free port, stopped at
// its end; with auth it requires htpasswd (bcrypt) credentials.
func StartRegistry(t testing.TB, auth bool) *Registry {
	t.Helper()
	Need(t, "docker-registry")
	dir := t.TempDir()
	r := &Registry{Dir: dir, Host: "127.0.0.1:" + freePort(t)}
	authConf := ""
	if auth {
		Need(t, "htpasswd")
		r.User, r.Password = "scratchpack", "s3cret-pw"
		out, err := exec.Command("htpasswd", "-Bbn", r.User, r.Password).Output()
		if err != nil {
			t.Fatalf("htpasswd -B: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), out, 0o600); err != nil {
			t.Fatal(err)
		}
		authConf = fmt.Sprintf("auth:\n  htpasswd:\n    realm: scratchpack-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}
	conf := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
%s`, filepath.Join(dir, "data"), r.Host, authConf)
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", cfg)
	cmd.Stdout, cmd.Stderr = log, log
	// REGISTRY_* variables override the config (REGISTRY_AUTH_FILE, set for
	// the client, would configure an "auth: file" here).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		log.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return r
			}
		}
		select {
		case <-exited:
			data, _ := os.ReadFile(log.Name())
			t.Fatalf("docker-registry exited:\n%s", data)
		default:
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(log.Name())
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", r.Host, err, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DockerConfig writes a docker config.json holding the registry's
// credentials into a new directory, for DOCKER_CONFIG.
func (r *Registry) DockerConfig(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	auth := encodeBase64(r.User + ":" + r.Password)
	data := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, r.Host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// freePort returns a TCP port nobody listens on now, on 127.0.0.1: any
// one, or, when SCRATCHPACK_TEST_PORTS is LOW-HIGH, one in that range (a
// machine shared by several test runs gives each its own).
func freePort(t testing.TB) string {
	t.Helper()
	if r := os.Getenv("SCRATCHPACK_TEST_PORTS"); r != "" {
		lo, hi, ok := parseRange(r)
		if !ok {
			t.Fatalf("SCRATCHPACK_TEST_PORTS=%q: expected LOW-HIGH", r)
		}
		start := lo + rand.Intn(hi-lo+1)
		for i := 0; i <= hi-lo; i++ {
			port := strconv.Itoa(lo + (start-lo+i)%(hi-lo+1))
			if l, err := net.Listen("tcp", "127.0.0.1:"+port); err == nil {
				l.Close()
				return port
			}
		}
		t.Fatalf("no free port in SCRATCHPACK_TEST_PORTS=%s", r)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()[strings.LastIndex(l.Addr().String(), ":")+1:]
}

func parseRange(s string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	return lo, hi, found && err1 == nil && err2 == nil && 0 < lo && lo <= hi && hi < 65536
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on.
func FreePort(t testing.TB) string { return freePort(t) }

func encodeBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

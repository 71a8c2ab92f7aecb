package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// The images of TestBuildFrom (prefix of their names; all removed at its
// end) and the base they are built from: the e2e's cached builder
// (Debian 12, made by make -C examples builder; reused, never removed).
const (
	fromPrefix  = "localhost/sp-fromrun-"
	fromBuilder = "localhost/scratchpack-builder:bookworm"
)

var podmanFlags = []string{"--storage-driver", "vfs", "--runtime", "runc"}
var podmanLimits = []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

func podmanCommand(args ...string) *exec.Cmd {
	cmd := exec.Command("podman", append(append([]string{}, podmanFlags...), args...)...)
	// (noCredentials' empty DOCKER_CONFIG is for scratchpack: podman
	// wants a config.json there)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_CONFIG=") && !strings.HasPrefix(kv, "REGISTRY_AUTH_FILE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := podmanCommand(args...).Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("podman %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

// fromConfig is what a runtime reads of an image's config.
type fromConfig struct {
	Entrypoint, Cmd, Env []string
	WorkingDir, User     string
	ExposedPorts         map[string]any
	Labels               map[string]string
	StopSignal           string
}

func inspectConfig(t *testing.T, img string) (fromConfig, int64) {
	t.Helper()
	var out []struct {
		Size   int64
		Config fromConfig
	}
	if err := json.Unmarshal([]byte(podman(t, "image", "inspect", img)), &out); err != nil || len(out) != 1 {
		t.Fatalf("podman image inspect %s: %v", img, err)
	}
	return out[0].Config, out[0].Size
}

// TestBuildFrom: real images made with podman build from Debian 12 (layers,
// a removed file, a replaced directory, a hardlink across layers, USER,
// WORKDIR, ENV, EXPOSE, LABEL, STOPSIGNAL, ENTRYPOINT and CMD), served by a
// registry, saved with podman save and copied to an OCI layout with
// skopeo: build --from with no command, and the result run by podman
// prints what the original prints, with the same config. The server
// image (a non-root USER) is traced under --probe. A second build reuses
// the cache with the registry gone. The sizes and times are logged
// (go test -v), beside skopeo copy + umoci unpack of the same image.
func TestBuildFrom(t *testing.T) {
	if os.Getenv("SCRATCHPACK_E2E_FROM") != "1" {
		t.Skip("runs in make e2e (scripts/e2e.sh sets SCRATCHPACK_E2E_FROM=1 once the builder image is made): podman builds on vfs are slow")
	}
	testenv.NeedRoot(t)
	need(t, "podman", "skopeo", "umoci", "docker-registry", "strace", "curl")
	if err := podmanCommand("image", "exists", fromBuilder).Run(); err != nil {
		t.Fatalf("%s is missing: make -C examples builder makes it (make e2e does)", fromBuilder)
	}
	noCredentials(t)
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	t.Cleanup(func() {
		for _, img := range []string{"app:test", "server:test", "app:slim-registry", "app:slim-archive", "app:slim-oci", "app:slim-fanotify", "server:slim"} {
			podmanCommand("rmi", "-f", fromPrefix+img).Run()
		}
	})
	src, _ := filepath.Abs("testdata/from")
	for _, name := range []string{"app", "server"} {
		t0 := time.Now()
		podman(t, append(append([]string{"build", "--layers=false", "-q"}, podmanLimits...),
			"--build-arg", "BASE="+fromBuilder, "-t", fromPrefix+name+":test", filepath.Join(src, name))...)
		t.Logf("podman build %s: %s", name, time.Since(t0).Round(time.Millisecond))
	}
	appTar := filepath.Join(dir, "app.tar")
	podman(t, "save", "-q", "-o", appTar, fromPrefix+"app:test")
	layout := filepath.Join(dir, "layout")
	if out, err := exec.Command("skopeo", "copy", "-q", "docker-archive:"+appTar, "oci:"+layout+":test").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	wantOut := podman(t, append(append([]string{"run", "--rm", "--network", "none"}, podmanLimits...), fromPrefix+"app:test")...)
	wantCfg, appSize := inspectConfig(t, fromPrefix+"app:test")

	build := func(t *testing.T, ref, slim string, extra ...string) time.Duration {
		t.Helper()
		archive := filepath.Join(dir, strings.ReplaceAll(slim, ":", "-")+".tar")
		args := append([]string{"build", "--from", ref, "--cache-dir", cache, "--insecure-registry",
			"-o", filepath.Join(dir, strings.ReplaceAll(slim, ":", "-")+".tar.gz"),
			"--image", "docker-archive:" + archive + ":" + fromPrefix + slim}, extra...)
		t0 := time.Now()
		code, stderr := runProcess(t, dir, args...)
		took := time.Since(t0)
		if code != 0 {
			t.Fatalf("build --from %s: exit %d\n%s", ref, code, stderr)
		}
		if !strings.Contains(stderr, "from ") || !strings.Contains(stderr, "result: ") {
			t.Errorf("the summary does not name the source image and the ratio:\n%s", stderr)
		}
		podman(t, "load", "-q", "-i", archive)
		return took
	}
	check := func(t *testing.T, slim string) int64 {
		t.Helper()
		got := podman(t, append(append([]string{"run", "--rm", "--network", "none"}, podmanLimits...), fromPrefix+slim)...)
		if got != wantOut {
			t.Errorf("%s prints\n%s\nthe original prints\n%s", slim, got, wantOut)
		}
		cfg, size := inspectConfig(t, fromPrefix+slim)
		if !reflect.DeepEqual(cfg, wantCfg) {
			t.Errorf("%s's config:\n%+v\nthe original's:\n%+v", slim, cfg, wantCfg)
		}
		return size
	}

	var firstBuild, cachedBuild, unpack time.Duration
	var slimSize int64
	var host string
	t.Run("registry", func(t *testing.T) {
		reg := testenv.StartRegistry(t, false) // (SCRATCHPACK_TEST_PORTS: a range of ports)
		host = reg.Host
		podman(t, "push", "-q", "--tls-verify=false", fromPrefix+"app:test", "docker://"+reg.Host+"/app:test")
		firstBuild = build(t, reg.Host+"/app:test", "app:slim-registry")
		unpack = skopeoUmoci(t, "docker://"+reg.Host+"/app:test", filepath.Join(dir, "umoci-app"))
		slimSize = check(t, "app:slim-registry")
	})
	if host == "" {
		t.FailNow()
	}
	t.Run("cached, no registry", func(t *testing.T) {
		// the registry of the subtest above is stopped: nothing to pull
		cachedBuild = build(t, "docker://"+host+"/app:test", "app:slim-registry")
	})
	t.Run("fanotify", func(t *testing.T) {
		// the other collector, on the cached root
		build(t, "docker://"+host+"/app:test", "app:slim-fanotify", "--collector", "fanotify")
		check(t, "app:slim-fanotify")
	})
	t.Run("docker-archive", func(t *testing.T) {
		build(t, "docker-archive:"+appTar, "app:slim-archive")
		check(t, "app:slim-archive")
	})
	t.Run("oci", func(t *testing.T) {
		build(t, "oci:"+layout+":test", "app:slim-oci")
		check(t, "app:slim-oci")
	})
	t.Run("server", func(t *testing.T) {
		serverTar := filepath.Join(dir, "server.tar")
		podman(t, "save", "-q", "-o", serverTar, fromPrefix+"server:test")
		url := "http://127.0.0.1:24082/index.html"
		took := build(t, "docker-archive:"+serverTar, "server:slim", "--probe", "curl -sf "+url)
		for _, img := range []string{"server:test", "server:slim"} {
			id := strings.TrimSpace(podman(t, append(append([]string{"run", "-d", "--rm", "--network", "host"}, podmanLimits...), fromPrefix+img)...))
			body, err := getRetry(url, 20*time.Second)
			podman(t, "stop", "-t", "2", id)
			if err != nil || !strings.Contains(body, "served from the image") {
				t.Errorf("%s: GET %s: %v %q", img, url, err, body)
			}
		}
		wantServer, orig := inspectConfig(t, fromPrefix+"server:test")
		got, slim := inspectConfig(t, fromPrefix+"server:slim")
		if !reflect.DeepEqual(got, wantServer) {
			t.Errorf("server:slim's config:\n%+v\nthe original's:\n%+v", got, wantServer)
		}
		unpack := skopeoUmoci(t, "docker-archive:"+serverTar, filepath.Join(dir, "umoci-server"))
		t.Logf("MEASURE server: original %s, slim %s (%.1fx); build --from %s; skopeo copy + umoci unpack alone: %s",
			human(orig), human(slim), float64(orig)/float64(max(slim, 1)), took.Round(time.Millisecond), unpack.Round(time.Millisecond))
	})
	t.Logf("MEASURE app: original %s, slim %s (%.1fx); build --from %s (cached: %s); skopeo copy + umoci unpack alone: %s",
		human(appSize), human(slimSize), float64(appSize)/float64(max(slimSize, 1)),
		firstBuild.Round(time.Millisecond), cachedBuild.Round(time.Millisecond), unpack.Round(time.Millisecond))
}

// skopeoUmoci times what a user would otherwise run to get the image's
// root: skopeo copy to an OCI layout, then umoci unpack.
func skopeoUmoci(t *testing.T, src, dir string) time.Duration {
	t.Helper()
	t0 := time.Now()
	if out, err := exec.Command("skopeo", "copy", "-q", "--src-tls-verify=false", src, "oci:"+dir+":test").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	if out, err := exec.Command("umoci", "unpack", "--image", dir+":test", dir+"-bundle").CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	return time.Since(t0)
}

// getRetry GETs url until it answers or timeout passes.
func getRetry(url string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(body), err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no answer in %s: %w", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

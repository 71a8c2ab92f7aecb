package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// The test binary runs as scratchpack when SCRATCHPACK_TEST_MAIN=1:
// build must run in its own process in tests that start a registry, since
// the tracer's final sweep kills every child of the process that traces
// (the registry too, were it ours).
func init() {
	if os.Getenv("SCRATCHPACK_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

// runProcess runs the CLI as a separate process; it returns the exit
// code and stderr.
func runProcess(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SCRATCHPACK_TEST_MAIN=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stderr.String()
}

// noCredentials points docker's config (the library's default keychain)
// at empty directories.
func noCredentials(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
}

var digestRe = regexp.MustCompile(`image (sha256:[0-9a-f]{64})`)

// imageDigest is the digest build or pack printed.
func imageDigest(t *testing.T, stderr string) string {
	t.Helper()
	m := digestRe.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no image digest in the output:\n%s", stderr)
	}
	return m[1]
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

type inspected struct {
	Digest       string
	Architecture string
	Os           string
	Layers       []string
	Labels       map[string]string
	Env          []string
}

type inspectedConfig struct {
	Created string `json:"created"`
	RootFS  struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	Config struct {
		Cmd          []string
		Env          []string
		WorkingDir   string
		User         string
		ExposedPorts map[string]struct{}
		Labels       map[string]string
	} `json:"config"`
}

func skopeoInspect(t *testing.T, ref string, config bool, v any) {
	t.Helper()
	args := []string{"inspect"}
	if strings.HasPrefix(ref, "docker://") {
		args = append(args, "--tls-verify=false")
	}
	if config {
		args = append(args, "--config")
	}
	out, err := exec.Command("skopeo", append(args, ref)...).Output()
	if err != nil {
		t.Fatalf("skopeo inspect %s: %v", ref, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("skopeo inspect %s: %v\n%s", ref, err, out)
	}
}

// TestBuildImage: build fortune straight into a registry (a real
// docker-registry), an OCI layout and a docker archive; skopeo reads all
// three: the same digest, the archive as the layer, the command, the
// labels, the ports.
func TestBuildImage(t *testing.T) {
	need(t, "strace", "skopeo", "/usr/games/fortune")
	noCredentials(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	reg := testenv.StartRegistry(t, false)
	dir := t.TempDir()
	ref := reg.Host + "/scratchpack/fortune:v1"
	code, stderr := runProcess(t, dir, "build", "-o", "rootfs.tar.gz", "--dockerfile", "Dockerfile", "--workdir", "/",
		"--image", "docker://"+ref, "--image", "oci:layout:v1", "--image", "docker-archive:fortune.tar:fortune:v1",
		"--insecure-registry", "--label", "org.example.team=tools", "--port", "8080", "--port", "53/udp",
		"--image-source", "https://example.invalid/fortune.git", "--image-revision", "abc123",
		"--", "/usr/games/fortune", "-s")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	digest := imageDigest(t, stderr)
	if !strings.Contains(stderr, "pushed "+reg.Host+"/scratchpack/fortune@"+digest) {
		t.Errorf("the output does not say what was pushed:\n%s", stderr)
	}
	var remote, layout inspected
	skopeoInspect(t, "docker://"+ref, false, &remote)
	skopeoInspect(t, "oci:"+filepath.Join(dir, "layout")+":v1", false, &layout)
	if remote.Digest != digest || layout.Digest != digest {
		t.Errorf("digests: printed %s, registry %s, OCI layout %s", digest, remote.Digest, layout.Digest)
	}
	if len(remote.Layers) != 1 || remote.Layers[0] != fileSHA256(t, filepath.Join(dir, "rootfs.tar.gz")) {
		t.Errorf("layers %v: want one, the archive itself (%s)", remote.Layers, fileSHA256(t, filepath.Join(dir, "rootfs.tar.gz")))
	}
	if remote.Os != "linux" || remote.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", remote.Os, remote.Architecture)
	}
	var cfg inspectedConfig
	skopeoInspect(t, "docker://"+ref, true, &cfg)
	c := cfg.Config
	if strings.Join(c.Cmd, " ") != "/usr/games/fortune -s" {
		t.Errorf("Cmd %q", c.Cmd)
	}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Env) != 1 || !strings.Contains(string(df), "\nENV "+strings.Replace(c.Env[0], "=", `="`, 1)+"\"\n") {
		t.Errorf("Env %q: want the PATH of the Dockerfile:\n%s", c.Env, df)
	}
	if c.WorkingDir != "/" {
		t.Errorf("WorkingDir %q", c.WorkingDir)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok || len(c.ExposedPorts) != 2 {
		t.Errorf("ExposedPorts %v", c.ExposedPorts)
	}
	for k, v := range map[string]string{
		"org.example.team":                  "tools",
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
		"org.opencontainers.image.source":   "https://example.invalid/fortune.git",
		"org.opencontainers.image.revision": "abc123",
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if cfg.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("created %q", cfg.Created)
	}
	// The docker archive: its manifest.json names the tag and the layer.
	out := sh(t, dir, "tar", "-xOf", "fortune.tar", "manifest.json")
	if !strings.Contains(out, `"RepoTags":["fortune:v1"]`) || !strings.Contains(out, strings.TrimPrefix(remote.Layers[0], "sha256:")+".tar.gz") {
		t.Errorf("docker archive manifest.json: %s", out)
	}
	var arch inspected
	skopeoInspect(t, "docker-archive:"+filepath.Join(dir, "fortune.tar"), false, &arch)
	// skopeo names a docker archive's layers by their uncompressed digest
	if len(arch.Layers) != 1 || len(cfg.RootFS.DiffIDs) != 1 || arch.Layers[0] != cfg.RootFS.DiffIDs[0] {
		t.Errorf("docker archive layers %v, want the config's diff_ids %v", arch.Layers, cfg.RootFS.DiffIDs)
	}
}

// TestImageSameDigest: two builds of fortune, run from two directories
// into two directories, a second apart, give the same image digest, with
// SOURCE_DATE_EPOCH and without. The traced command runs in / both times
// (--dir): its working directory is part of the rootfs.
func TestImageSameDigest(t *testing.T) {
	need(t, "strace", "/usr/games/fortune")
	for _, epoch := range []string{"1700000000", ""} {
		t.Run("epoch="+epoch, func(t *testing.T) {
			if epoch == "" {
				os.Unsetenv("SOURCE_DATE_EPOCH")
			} else {
				t.Setenv("SOURCE_DATE_EPOCH", epoch)
			}
			var digests, layers []string
			for i := range 2 {
				if i == 1 {
					time.Sleep(1100 * time.Millisecond)
				}
				dir := t.TempDir()
				os.Mkdir(filepath.Join(dir, "out"), 0o755)
				code, _, stderr := run(t, dir, "build", "-o", filepath.Join(dir, "out/rootfs.tar.gz"), "--dir", "/",
					"--image", "oci:"+filepath.Join(dir, "out/layout")+":v1", "--", "/usr/games/fortune", "-s")
				if code != 0 {
					t.Fatalf("build: exit %d\n%s", code, stderr)
				}
				digests = append(digests, imageDigest(t, stderr))
				layers = append(layers, fileSHA256(t, filepath.Join(dir, "out/rootfs.tar.gz")))
			}
			if digests[0] != digests[1] || layers[0] != layers[1] {
				t.Errorf("two builds: digests %v, layers %v", digests, layers)
			}
			t.Logf("image %s, layer %s", digests[0], layers[0])
		})
	}
}

// TestImageRegistryErrors: a registry that is not there, or that wants
// credentials it does not get, fails the build with exit 1 and its name;
// with the credentials in a docker config.json the push works.
func TestImageRegistryErrors(t *testing.T) {
	need(t, "strace", "/usr/games/fortune")
	noCredentials(t)
	reg := testenv.StartRegistry(t, true)
	closed := "127.0.0.1:" + testenv.FreePort(t)
	dir := t.TempDir()
	build := func(host string, extra ...string) (int, string) {
		args := append([]string{"build", "-o", "rootfs.tar.gz", "--image", "docker://" + host + "/scratchpack/fortune:v1"}, extra...)
		return runProcess(t, dir, append(args, "--", "/usr/games/fortune")...)
	}
	for _, tt := range []struct {
		name, host string
		extra      []string
		want       string
	}{
		{"wrong port", closed, []string{"--insecure-registry"}, "connection refused"},
		{"no credentials", reg.Host, []string{"--insecure-registry"}, "authentication failed"},
		{"plain http", reg.Host, nil, "--insecure-registry allows that"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := build(tt.host, tt.extra...)
			if code != ExitError || !strings.Contains(stderr, "registry "+tt.host) || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want 1 naming registry %s and saying %q:\n%s", code, tt.host, tt.want, stderr)
			}
		})
	}
	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t))
	if code, stderr := build(reg.Host, "--insecure-registry"); code != 0 {
		t.Fatalf("with credentials in config.json: exit %d\n%s", code, stderr)
	}
}

// TestPackImage: pack writes an image from a list with the config flags;
// the usage errors exit 2.
func TestPackImage(t *testing.T) {
	need(t, "strace", "skopeo", "/usr/games/fortune")
	dir := t.TempDir()
	sh(t, dir, "strace", "-f", "-o", "app.strace", "/usr/games/fortune")
	code, _, stderr := run(t, dir, "pack", "--strace", "app.strace", "--deps", "--image", "oci:layout",
		"--cmd", `["/usr/games/fortune", "-a"]`, "--env", "LANG=C.UTF-8", "--workdir", "/usr/share/games",
		"--user", "65534:65534", "--compression", "zstd")
	if code != 0 {
		t.Fatalf("pack: exit %d\n%s", code, stderr)
	}
	var cfg inspectedConfig
	skopeoInspect(t, "oci:"+filepath.Join(dir, "layout"), true, &cfg)
	c := cfg.Config
	if strings.Join(c.Cmd, " ") != "/usr/games/fortune -a" || c.WorkingDir != "/usr/share/games" || c.User != "65534:65534" {
		t.Errorf("config %+v", c)
	}
	if strings.Join(c.Env, " ") != "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8" {
		t.Errorf("Env %q: want the default PATH and --env", c.Env)
	}
	if cfg.Created != "1970-01-01T00:00:00Z" || c.Labels["org.opencontainers.image.created"] != "" {
		t.Errorf("without SOURCE_DATE_EPOCH: created %q, label %q", cfg.Created, c.Labels["org.opencontainers.image.created"])
	}
	index, _ := os.ReadFile(filepath.Join(dir, "layout/index.json"))
	blobs, _ := os.ReadFile(filepath.Join(dir, "layout/blobs/sha256", strings.TrimPrefix(manifestDigest(t, index), "sha256:")))
	if !strings.Contains(string(blobs), "application/vnd.oci.image.layer.v1.tar+zstd") {
		t.Errorf("manifest: want a zstd layer:\n%s", blobs)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"pack", "--strace", "app.strace", "--image", "oci:x"}, "need a command: give --cmd"},
		{[]string{"pack", "--strace", "app.strace", "--image", "x.tar", "--cmd", `["/x"]`}, "expected oci:DIR"},
		{[]string{"pack", "--strace", "app.strace", "-o", "a.tar.gz", "--port", "80"}, "go with --image"},
		{[]string{"pack", "--strace", "app.strace", "--image", "oci:x", "--cmd", `["/x"]`, "--port", "http"}, "--port"},
		{[]string{"pack", "--strace", "app.strace", "--image", "oci:x", "--cmd", `["/x"]`, "--label", "nokey"}, "--label"},
	} {
		code, _, stderr := run(t, dir, tt.args...)
		if code != ExitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tt.args, code, tt.want, stderr)
		}
	}
}

func manifestDigest(t *testing.T, index []byte) string {
	t.Helper()
	var ix struct {
		Manifests []struct{ Digest string }
	}
	if err := json.Unmarshal(index, &ix); err != nil || len(ix.Manifests) != 1 {
		t.Fatalf("index.json: %v\n%s", err, index)
	}
	return ix.Manifests[0].Digest
}

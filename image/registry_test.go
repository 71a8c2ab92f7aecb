package image

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/tarball"
)

// remoteDigest is what the registry's tag points at, or "" when the tag
// does not exist.
func remoteDigest(t *testing.T, ref string) string {
	t.Helper()
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(tag, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

func pushDest(t *testing.T, ref string) Dest {
	t.Helper()
	d, err := ParseDest("docker://" + ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// noCredentials points the default keychain at an empty docker config.
func noCredentials(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
}

// TestPush pushes to a real registry (docker-registry on 127.0.0.1):
// the tag points at the image's digest, skopeo sees the config, and the
// progress callback saw every byte.
func TestPush(t *testing.T) {
	testenv.Need(t, "skopeo")
	testenv.NeedRoot(t)
	noCredentials(t)
	reg := testenv.StartRegistry(t, false)
	dir := t.TempDir()
	archive := rootfs(t, dir, tarball.Gzip, true)
	img := newImage(t, archive, tarball.Gzip, testConfig())
	ref := reg.Host + "/scratchpack/hello:v1"
	var mu sync.Mutex
	var updates []Progress
	res, err := Write(context.Background(), img, pushDest(t, ref), Options{Insecure: true, Progress: func(p Progress) {
		mu.Lock()
		updates = append(updates, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := remoteDigest(t, ref); got != img.Digest {
		t.Errorf("the tag points at %q, want %s", got, img.Digest)
	}
	if res.Ref != reg.Host+"/scratchpack/hello@"+img.Digest {
		t.Errorf("result ref %q", res.Ref)
	}
	if len(updates) == 0 || !updates[len(updates)-1].Done {
		t.Fatalf("progress: %+v, want updates ending with Done", updates)
	}
	last := updates[len(updates)-1]
	cfg, _ := img.RawConfig()
	if last.Total < img.Layer.Size()+int64(len(cfg)) || last.Complete != last.Total {
		t.Errorf("progress ended at %d/%d; the layer and config are %d bytes", last.Complete, last.Total, img.Layer.Size()+int64(len(cfg)))
	}
	out, err := exec.Command("skopeo", "inspect", "--tls-verify=false", "--config", "docker://"+ref).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	for _, want := range []string{`"/usr/bin/hello"`, `"org.example.team": "tools"`, `"8080/tcp"`, `"WorkingDir": "/srv"`, `"User": "1000:1000"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("skopeo inspect --config: no %s in\n%s", want, out)
		}
	}
	// The same image again: the registry has the blobs, the push is a no-op
	// with the same digest.
	if _, err := Write(context.Background(), img, pushDest(t, ref), Options{Insecure: true}); err != nil {
		t.Fatal(err)
	}
}

// TestPushErrors: each failure names the registry and says what went wrong.
func TestPushErrors(t *testing.T) {
	testenv.NeedRoot(t)
	noCredentials(t)
	reg := testenv.StartRegistry(t, false)
	authReg := testenv.StartRegistry(t, true)
	dir := t.TempDir()
	img := newImage(t, rootfs(t, dir, tarball.Gzip, false), tarball.Gzip, testConfig())
	closed := "127.0.0.1:" + testenv.FreePort(t)
	tests := []struct {
		name, host string
		insecure   bool
		want       string
	}{
		{"wrong port", closed, true, "connection refused"},
		{"plain http without --insecure-registry", reg.Host, false, "plain http: --insecure-registry"},
		{"htpasswd without credentials", authReg.Host, true, "authentication failed"},
		{"unknown host", "no-such-registry.invalid:5000", true, "unknown host no-such-registry.invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := tt.host + "/scratchpack/hello:v1"
			_, err := Write(context.Background(), img, pushDest(t, ref), Options{Insecure: tt.insecure})
			if err == nil {
				t.Fatal("no error")
			}
			host := strings.Split(tt.host, ":")[0]
			if !strings.Contains(err.Error(), "registry "+host) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to name the registry %s and say %q", err, tt.host, tt.want)
			}
		})
	}
	if d := remoteDigestWith(t, authReg, authReg.Host+"/scratchpack/hello:v1"); d != "" {
		t.Errorf("the refused push left a tag: %s", d)
	}
}

func remoteDigestWith(t *testing.T, reg *testenv.Registry, ref string) string {
	t.Helper()
	tag, _ := name.NewTag(ref, name.Insecure)
	d, err := remote.Head(tag, remote.WithAuth(&authn.Basic{Username: reg.User, Password: reg.Password}))
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// TestPushWithDockerConfig: credentials from DOCKER_CONFIG/config.json,
// through the library's default keychain.
func TestPushWithDockerConfig(t *testing.T) {
	testenv.NeedRoot(t)
	noCredentials(t)
	reg := testenv.StartRegistry(t, true)
	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t))
	img := newImage(t, rootfs(t, t.TempDir(), tarball.Gzip, false), tarball.Gzip, testConfig())
	ref := reg.Host + "/scratchpack/hello:v1"
	if _, err := Write(context.Background(), img, pushDest(t, ref), Options{Insecure: true}); err != nil {
		t.Fatal(err)
	}
	if got := remoteDigestWith(t, reg, ref); got != img.Digest {
		t.Errorf("the tag points at %q, want %s", got, img.Digest)
	}
}

// TestFailedPushKeepsTag: when a blob upload fails halfway (a proxy in
// front of the real registry breaks the layer's upload), the tag still
// points at the image it had, and the new manifest is not there.
func TestFailedPushKeepsTag(t *testing.T) {
	testenv.NeedRoot(t)
	noCredentials(t)
	reg := testenv.StartRegistry(t, false)
	dir := t.TempDir()
	archive := rootfs(t, dir, tarball.Gzip, false)
	first := newImage(t, archive, tarball.Gzip, testConfig())
	ref := reg.Host + "/scratchpack/hello:v1"
	if _, err := Write(context.Background(), first, pushDest(t, ref), Options{Insecure: true}); err != nil {
		t.Fatal(err)
	}
	// A second image with another layer, pushed through the proxy.
	other := filepath.Join(dir, "second")
	os.MkdirAll(other, 0o755)
	cfg := testConfig()
	cfg.Revision = "second"
	second := newImage(t, rootfs(t, other, tarball.Zstd, false), tarball.Zstd, cfg)

	target, _ := url.Parse("http://" + reg.Host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	var mu sync.Mutex
	var manifestPuts int
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads/") && (r.Method == http.MethodPatch || r.Method == http.MethodPut) {
			// Half the layer reaches the proxy, then the upload fails.
			buf := make([]byte, 64)
			r.Body.Read(buf)
			http.Error(w, "disk full", http.StatusInsufficientStorage)
			return
		}
		if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodPut {
			mu.Lock()
			manifestPuts++
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	})}
	port := testenv.FreePort(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	_, err = Write(context.Background(), second, pushDest(t, "127.0.0.1:"+port+"/scratchpack/hello:v1"), Options{Insecure: true})
	t.Logf("the error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "registry 127.0.0.1:"+port) || !strings.Contains(err.Error(), "the tag was not changed") {
		t.Fatalf("push through a failing proxy: %v", err)
	}
	if manifestPuts != 0 {
		t.Errorf("%d manifest PUTs after a failed blob upload", manifestPuts)
	}
	if got := remoteDigest(t, ref); got != first.Digest {
		t.Errorf("after the failed push the tag points at %q, want the first image %s", got, first.Digest)
	}
	byDigest, _ := name.NewDigest(reg.Host+"/scratchpack/hello@"+second.Digest, name.Insecure)
	if _, err := remote.Head(byDigest); err == nil {
		t.Error("the second image's manifest is in the registry")
	}
}

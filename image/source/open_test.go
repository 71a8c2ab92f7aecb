package source

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// noCredentials points the default keychain at an empty docker config.
func noCredentials(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
}

func skopeo(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("skopeo", args...).CombinedOutput(); err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// served starts a registry holding the test image as sp/img:v2 (by skopeo
// copy from podman's layout).
func served(t *testing.T, f *testImage) *testenv.Registry {
	t.Helper()
	reg := testenv.StartRegistry(t, false)
	skopeo(t, "copy", "-q", "--dest-tls-verify=false", "oci:"+f.layout+":v2", "docker://"+reg.Host+"/sp/img:v2")
	return reg
}

// counting counts a registry's requests, and the blob downloads.
type counting struct {
	requests, blobs atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
		c.blobs.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestOpenTransports: the same image from a registry (docker:// and a
// plain name), an OCI layout made by skopeo and a docker-archive made by
// podman save gives the root that podman itself makes (podman export):
// the same files, modes, owners, link targets, times and extended
// attributes; whiteouts, the opaque directory and the hardlink to an
// earlier layer applied; and the image's config.
func TestOpenTransports(t *testing.T) {
	f := testImageFor(t)
	noCredentials(t)
	reg := served(t, f)
	ociDir := filepath.Join(t.TempDir(), "oci")
	skopeo(t, "copy", "-q", "--src-tls-verify=false", "docker://"+reg.Host+"/sp/img:v2", "oci:"+ociDir+":v2")
	want := describeTar(t, f.export)
	// What podman create adds to a container, not in the image.
	for _, n := range []string{"run/.containerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf"} {
		if _, ok := want[n]; ok && !strings.HasPrefix(want[n], "file") {
			delete(want, n)
		}
	}
	layoutDigest := func(dir, tag string) string {
		_, d := layoutDesc(t, dir, tag)
		return d.Digest.String()
	}
	ociDigest := layoutDigest(ociDir, "v2")
	for _, tt := range []struct {
		ref, name, digest string
	}{
		{"docker://" + reg.Host + "/sp/img:v2", reg.Host + "/sp/img:v2", ociDigest},
		{reg.Host + "/sp/img:v2", reg.Host + "/sp/img:v2", ociDigest},
		{reg.Host + "/sp/img@" + ociDigest, reg.Host + "/sp/img@" + ociDigest, ociDigest},
		{"oci:" + ociDir + ":v2", "", ociDigest},
		{"oci:" + f.layout + ":v2", "", layoutDigest(f.layout, "v2")},
		{"docker-archive:" + f.archive, archiveTag, ""},
		{"docker-archive:" + f.archive + ":" + archiveTag, archiveTag, ""},
	} {
		t.Run(strings.ReplaceAll(tt.ref, "/", "_"), func(t *testing.T) {
			img, err := Open(context.Background(), tt.ref, Options{CacheDir: t.TempDir(), Insecure: true})
			if err != nil {
				t.Fatal(err)
			}
			if img.Cached {
				t.Error("a first Open says Cached")
			}
			got := describeDir(t, img.Root)
			for n, w := range want {
				if got[n] != w {
					t.Errorf("%s: %q, podman has %q", n, got[n], w)
				}
			}
			for n, g := range got {
				if _, ok := want[n]; !ok {
					t.Errorf("%s: %q, not in podman's root", n, g)
				}
			}
			// the cases the image was made for, explicitly
			for _, gone := range []string{"data/gone", "opq/old", "bin/ln"} {
				if _, err := os.Lstat(filepath.Join(img.Root, gone)); !os.IsNotExist(err) {
					t.Errorf("%s is there (err %v): its whiteout or opaque directory was not applied", gone, err)
				}
			}
			var a, b syscall.Stat_t
			syscall.Stat(filepath.Join(img.Root, "data/keep"), &a)
			syscall.Stat(filepath.Join(img.Root, "data/keep-link"), &b)
			if a.Ino == 0 || a.Ino != b.Ino {
				t.Errorf("data/keep-link is not a hardlink of data/keep (of an earlier layer)")
			}
			if got["opq/fresh"] == "" || got["home/app/notes"] == "" || !strings.Contains(got["etc/motd"], "user.scratchpack=layer") {
				t.Errorf("the opaque directory's new file, the owned file or the xattr is missing: %q %q %q", got["opq/fresh"], got["home/app/notes"], got["etc/motd"])
			}
			cf := img.Config.Config
			if cf.User != "1000:1000" || cf.WorkingDir != "/srv" || !reflect.DeepEqual(cf.Entrypoint, []string{"/bin/cat"}) ||
				!reflect.DeepEqual(cf.Cmd, []string{"/data/keep"}) || !contains(cf.Env, "GREETING=hello") {
				t.Errorf("config %+v", cf)
			}
			if img.Name != tt.name {
				t.Errorf("Name %q, want %q", img.Name, tt.name)
			}
			wantDigest := tt.digest
			if wantDigest == "" {
				wantDigest = img.ID
			}
			if img.Digest != wantDigest || !strings.HasPrefix(img.ID, "sha256:") {
				t.Errorf("Digest %q ID %q, want digest %s", img.Digest, img.ID, wantDigest)
			}
			if img.Platform != "linux/amd64" || img.Size < 100_000 || img.RootSize < 100_000 {
				t.Errorf("Platform %s Size %d RootSize %d", img.Platform, img.Size, img.RootSize)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestOpenCache: a second Open of a registry image sends no request and
// applies nothing; with PullAlways it asks for the manifest but pulls no
// layer. A second Open of a layout reads no layer (they are truncated
// after the first). Progress ends at the image's size.
func TestOpenCache(t *testing.T) {
	f := testImageFor(t)
	noCredentials(t)
	reg := served(t, f)
	cache := t.TempDir()
	rt := &counting{}
	ref := "docker://" + reg.Host + "/sp/img:v2"
	var last Progress
	updates := 0
	start := time.Now()
	first, err := Open(context.Background(), ref, Options{CacheDir: cache, Insecure: true, Transport: rt, Progress: func(p Progress) { last = p; updates++ }})
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	if !last.Done || last.Complete != first.Size || last.Total != first.Size || last.Layers != 5 || last.Ref != ref {
		t.Errorf("progress ended at %+v (after %d updates), want Done at %d bytes, 5 layers", last, updates, first.Size)
	}
	if rt.blobs.Load() != 6 { // 5 layers and the config
		t.Errorf("the first Open pulled %d blobs", rt.blobs.Load())
	}
	var before syscall.Stat_t
	syscall.Stat(first.Root, &before)
	requests := rt.requests.Load()
	start = time.Now()
	second, err := Open(context.Background(), ref, Options{CacheDir: cache, Insecure: true, Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	warm := time.Since(start)
	t.Logf("Open %s: cold %v, warm %v", ref, cold.Round(time.Millisecond), warm.Round(time.Microsecond))
	if n := rt.requests.Load() - requests; n != 0 {
		t.Errorf("the second Open sent %d requests", n)
	}
	var after syscall.Stat_t
	syscall.Stat(second.Root, &after)
	if !second.Cached || second.Root != first.Root || after.Ino != before.Ino || second.Digest != first.Digest ||
		!reflect.DeepEqual(second.Config, first.Config) || second.RootSize != first.RootSize {
		t.Errorf("second Open: %+v\nfirst: %+v", second, first)
	}
	blobs := rt.blobs.Load()
	third, err := Open(context.Background(), ref, Options{CacheDir: cache, Insecure: true, Transport: rt, Pull: PullAlways})
	if err != nil {
		t.Fatal(err)
	}
	// the manifest and the config (one blob), no layer
	if !third.Cached || rt.blobs.Load() != blobs+1 || rt.requests.Load() == requests {
		t.Errorf("PullAlways: Cached %v, %d blobs pulled (want the config only), %d requests", third.Cached, rt.blobs.Load()-blobs, rt.requests.Load()-requests)
	}
	// Never: from the cache only.
	if _, err := Open(context.Background(), reg.Host+"/sp/img:v2", Options{CacheDir: cache, Pull: PullNever}); err != nil {
		t.Errorf("PullNever of a cached image: %v", err)
	}
	if _, err := Open(context.Background(), reg.Host+"/sp/other:v2", Options{CacheDir: cache, Pull: PullNever}); err == nil || !strings.Contains(err.Error(), "not in the cache") {
		t.Errorf("PullNever of an image not cached: %v", err)
	}

	// A layout: the second Open finds the root by the config's diff IDs
	// and reads no layer.
	dir := filepath.Join(t.TempDir(), "oci")
	if out, err := exec.Command("cp", "-a", f.layout, dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	lcache := t.TempDir()
	one, err := Open(context.Background(), "oci:"+dir+":v2", Options{CacheDir: lcache})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range mustLayers(t, dir, "v2") {
		if err := os.Truncate(filepath.Join(dir, "blobs", "sha256", l), 0); err != nil {
			t.Fatal(err)
		}
	}
	two, err := Open(context.Background(), "oci:"+dir+":v2", Options{CacheDir: lcache})
	if err != nil {
		t.Fatalf("second Open of the layout read a layer: %v", err)
	}
	if !two.Cached || two.Root != one.Root {
		t.Errorf("second Open of the layout: Cached %v, root %s, first %s", two.Cached, two.Root, one.Root)
	}
	// the same layers from another transport share the root
	three, err := Open(context.Background(), "docker-archive:"+f.archive, Options{CacheDir: lcache})
	if err != nil {
		t.Fatal(err)
	}
	if !three.Cached || three.Root != one.Root {
		t.Errorf("the archive of the same image: Cached %v, root %s, layout's %s", three.Cached, three.Root, one.Root)
	}
}

// mustLayers lists the hex digests of the layers of the layout's image tag.
func mustLayers(t *testing.T, dir, tag string) []string {
	t.Helper()
	mf, err := layoutImage(t, dir, tag).Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range mf.Layers {
		out = append(out, l.Digest.Hex)
	}
	return out
}

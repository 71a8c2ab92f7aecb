package source

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ggtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// cacheHoldsNoEntry checks that a failed Open left no root, temporary
// or not, in the cache.
func cacheHoldsNoEntry(t *testing.T, cache string) {
	t.Helper()
	for _, d := range []string{"roots/sha256", "blobs/sha256"} {
		ents, _ := os.ReadDir(filepath.Join(cache, d))
		for _, e := range ents {
			if d == "roots/sha256" || strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("the failed Open left %s/%s in the cache", d, e.Name())
			}
		}
	}
}

// TestOpenErrors: each failure is an error that names the image and
// says what went wrong, and leaves no entry in the cache.
func TestOpenErrors(t *testing.T) {
	f := testImageFor(t)
	noCredentials(t)
	reg := served(t, f)
	authReg := testenv.StartRegistry(t, true)
	skopeo(t, "copy", "-q", "--dest-tls-verify=false", "--dest-creds", authReg.User+":"+authReg.Password, "oci:"+f.layout+":v2", "docker://"+authReg.Host+"/sp/img:v2")

	// A layout whose crafted layer was changed after it was written.
	tampered := filepath.Join(t.TempDir(), "tampered")
	if out, err := exec.Command("cp", "-a", f.layout, tampered).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	layers := mustLayers(t, tampered, "v2")
	blob := filepath.Join(tampered, "blobs", "sha256", layers[len(layers)-1])
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	tamperedData := append([]byte{}, data...)
	tamperedData[len(tamperedData)-5] ^= 0xff // the gzip trailer: the tar reads the same, only the digest tells
	if err := os.WriteFile(blob, tamperedData, 0o644); err != nil {
		t.Fatal(err)
	}

	// An index of one linux/amd64 image.
	index := filepath.Join(t.TempDir(), "index")
	img := layoutImage(t, f.layout, "v2")
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	p, err := layout.Write(index, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: "multi"})); err != nil {
		t.Fatal(err)
	}
	if got, err := Open(context.Background(), "oci:"+index+":multi", Options{CacheDir: t.TempDir()}); err != nil || got.Platform != "linux/amd64" {
		t.Fatalf("the host's image from an index: %v", err)
	}

	host := reg.Host
	tests := []struct {
		name, ref string
		o         Options
		want      []string
	}{
		{"unknown tag", "docker://" + host + "/sp/img:nope", Options{Insecure: true}, []string{"registry 127.0.0.1", "no such image"}},
		{"unknown repository", host + "/sp/none:v1", Options{Insecure: true}, []string{"no such image"}},
		{"plain http without --insecure-registry", host + "/sp/img:v2", Options{}, []string{"--insecure-registry"}},
		{"registry that answers 401", authReg.Host + "/sp/img:v2", Options{Insecure: true}, []string{"registry 127.0.0.1", "authentication failed"}},
		{"nothing listens", "127.0.0.1:" + testenv.FreePort(t) + "/sp/img:v2", Options{Insecure: true}, []string{"connection refused"}},
		{"platform of a single image", host + "/sp/img:v2", Options{Insecure: true, Platform: "linux/arm64"}, []string{"the image is for linux/amd64, not linux/arm64"}},
		{"platform missing from an index", "oci:" + index + ":multi", Options{Platform: "linux/s390x"}, []string{"no image for linux/s390x", "it has linux/amd64"}},
		{"bad platform", host + "/sp/img:v2", Options{Platform: "amd64"}, []string{"expected os/arch"}},
		{"layer whose digest does not match", "oci:" + tampered + ":v2", Options{}, []string{"layer 5 of 5 (sha256:" + layers[4], "does not match its digest"}},
		{"unknown tag in a layout", "oci:" + f.layout + ":v9", Options{}, []string{`no image tagged "v9"`, "v1, v2"}},
		{"no layout", "oci:" + filepath.Join(t.TempDir(), "none"), Options{}, []string{"no OCI layout at"}},
		{"unknown tag in an archive", "docker-archive:" + f.archive + ":other:v1", Options{}, []string{`no image tagged "other:v1"`, archiveTag}},
		{"not an archive", "docker-archive:" + f.export, Options{}, []string{"not a docker-archive"}},
		{"transport not read", "containers-storage:foo", Options{}, []string{"the transport containers-storage: is not read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			tt.o.CacheDir = cache
			_, err := Open(context.Background(), tt.ref, tt.o)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "--from") || !strings.Contains(msg, tt.ref) {
				t.Errorf("error %q does not name the image %s", msg, tt.ref)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q: want %q", msg, w)
				}
			}
			cacheHoldsNoEntry(t, cache)
		})
	}

	t.Run("full disk", func(t *testing.T) {
		mnt := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("cannot mount a small tmpfs to fill: %v %s", err, out)
			}
			t.Skipf("cannot mount a small tmpfs to fill: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", mnt).Run() })
		for _, ref := range []string{"oci:" + f.layout + ":v2", "docker://" + host + "/sp/img:v2"} {
			_, err := Open(context.Background(), ref, Options{CacheDir: mnt, Insecure: true})
			if err == nil || !strings.Contains(err.Error(), "--from "+ref+": the disk holding the cache "+mnt+" is full") {
				t.Errorf("Open %s on a full disk: %v", ref, err)
			}
			cacheHoldsNoEntry(t, mnt)
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		// cancelled once the pull has started: mid-pull for the registry,
		// before the first layer is applied for the layout
		for _, ref := range []string{"oci:" + f.layout + ":v2", "docker://" + host + "/sp/img:v2"} {
			cache := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			_, err := Open(ctx, ref, Options{CacheDir: cache, Insecure: true, Progress: func(p Progress) {
				if p.Layers > 0 {
					cancel()
				}
			}})
			cancel()
			if err == nil || !strings.Contains(err.Error(), "--from "+ref) {
				t.Errorf("Open %s, interrupted: %v", ref, err)
			}
			cacheHoldsNoEntry(t, cache)
		}
	})
}

func layoutImage(t *testing.T, dir, tag string) v1.Image {
	t.Helper()
	idx, d := layoutDesc(t, dir, tag)
	img, err := idx.Image(d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// layoutDesc finds the descriptor of the tag in the layout's index.
func layoutDesc(t *testing.T, dir, tag string) (v1.ImageIndex, v1.Descriptor) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		if m.Annotations[refNameAnnotation] == tag {
			return idx, m
		}
	}
	t.Fatalf("no %s in %s", tag, dir)
	return nil, v1.Descriptor{}
}

// writeOCILayout writes img, made for linux/amd64, as the only image of
// a new layout dir, tagged tag unless "".
func writeOCILayout(t testing.TB, img v1.Image, dir, tag string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var opts []layout.Option
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{refNameAnnotation: tag}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		t.Fatal(err)
	}
}

// TestOpenHostileLayers: images whose layers try to write outside the
// root fail with an error naming the image and the entry; nothing
// outside changes and the cache keeps nothing. Device nodes are listed,
// not made.
func TestOpenHostileLayers(t *testing.T) {
	testenv.NeedRoot(t)
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	canary := filepath.Join(outside, "canary")
	os.WriteFile(canary, []byte("canary"), 0o644)
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	os.Chtimes(canary, old, old)
	hdr := func(typ byte, name, link string) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Linkname: link, Mode: 0o644, ModTime: old}
	}
	tests := []struct {
		name   string
		layers [][]*tar.Header
		want   string
	}{
		{"whiteout of ..", [][]*tar.Header{{hdr(tar.TypeReg, "a/f", "")}, {hdr(tar.TypeReg, "a/.wh...", "")}}, "a whiteout of"},
		{"whiteout with an absolute name", [][]*tar.Header{{hdr(tar.TypeReg, canary[:len(canary)-len("canary")]+".wh.canary", "")}}, "absolute name"},
		{"link out of the root, then a file through it", [][]*tar.Header{{hdr(tar.TypeSymlink, "escape", outside)}, {hdr(tar.TypeReg, "escape/canary", "")}}, "is a symlink"},
		{"whiteout through a link out of the root", [][]*tar.Header{{hdr(tar.TypeSymlink, "escape", outside)}, {hdr(tar.TypeReg, "escape/.wh.canary", "")}}, "is a symlink"},
		{"opaque directory through a link", [][]*tar.Header{{hdr(tar.TypeSymlink, "escape", outside)}, {hdr(tar.TypeReg, "escape/.wh..wh..opq", "")}}, "is a symlink"},
		{"hardlink to a file outside", [][]*tar.Header{{hdr(tar.TypeLink, "h", canary)}}, "outside the archive"},
		{"hardlink up and out", [][]*tar.Header{{hdr(tar.TypeLink, "h", "../../outside/canary")}}, "outside the archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := "oci:" + hostileLayout(t, tt.layers)
			cache := t.TempDir()
			_, err := Open(context.Background(), ref, Options{CacheDir: cache})
			if err == nil || !strings.Contains(err.Error(), "--from "+ref) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to name %s and say %q", err, ref, tt.want)
			}
			cacheHoldsNoEntry(t, cache)
			st, err := os.Stat(canary)
			data, _ := os.ReadFile(canary)
			if err != nil || string(data) != "canary" || !st.ModTime().Equal(old) {
				t.Errorf("the canary changed: %v %q", err, data)
			}
		})
	}
	t.Run("devices are listed, not made", func(t *testing.T) {
		null := hdr(tar.TypeChar, "dev/null", "")
		null.Devmajor, null.Devminor = 1, 3
		ref := "oci:" + hostileLayout(t, [][]*tar.Header{{null, hdr(tar.TypeReg, "etc/x", "")}})
		img, err := Open(context.Background(), ref, Options{CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if len(img.Skipped) != 1 || img.Skipped[0] != "dev/null: character device 1,3 not created" {
			t.Errorf("Skipped %q", img.Skipped)
		}
		if _, err := os.Lstat(filepath.Join(img.Root, "dev/null")); !os.IsNotExist(err) {
			t.Errorf("dev/null was made: %v", err)
		}
	})
}

// hostileLayout writes an OCI layout of an image of the layers.
func hostileLayout(t *testing.T, layers [][]*tar.Header) string {
	t.Helper()
	img := empty.Image
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	for _, hs := range layers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range hs {
			h.Format = tar.FormatPAX
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
		}
		tw.Close()
		data := buf.Bytes()
		l, err := ggtarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, ggtarball.WithMediaType(types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "layout")
	writeOCILayout(t, img, dir, "")
	return dir
}

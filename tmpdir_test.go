package scratchpack

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/image"
)

// tarTmp reads a gzipped tar: the header of "tmp/" and the names under it.
func tarTmp(t *testing.T, r io.Reader) (*tar.Header, []string) {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var tmp *tar.Header
	var under []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case name == "tmp/":
			tmp = h
		case strings.HasPrefix(name, "tmp/"):
			under = append(under, name)
		}
	}
	return tmp, under
}

// ociLayer opens the one layer of the image tagged in an OCI layout.
func ociLayer(t *testing.T, layout string) io.ReadCloser {
	t.Helper()
	blob := func(digest string) []byte {
		data, err := os.ReadFile(filepath.Join(layout, "blobs", strings.Replace(digest, ":", "/", 1)))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var index struct{ Manifests []struct{ Digest string } }
	data, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil || json.Unmarshal(data, &index) != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, data)
	}
	var m struct{ Layers []struct{ Digest string } }
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("manifest: %v %+v", err, m)
	}
	f, err := os.Open(filepath.Join(layout, "blobs", strings.Replace(m.Layers[0].Digest, ":", "/", 1)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestEveryImageHasTmp: the archive, the --output-dir tree and the
// image have /tmp, empty, mode 1777, owned by root, at the Unix epoch,
// whether the command used /tmp or not; two builds are the same bytes
// (with SOURCE_DATE_EPOCH: the package metadata's directories, /var/lib,
// carry the host's times); --exclude /tmp leaves it out.
func TestEveryImageHasTmp(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	needTools(t, "strace", "tar")
	tmpFile := filepath.Join("/tmp", "sp-silent-tmpdir-test")
	t.Cleanup(func() { os.Remove(tmpFile) })
	for _, tc := range []struct {
		name     string
		command  []string
		excludes []string
		want     bool
	}{
		{"unused", []string{"/bin/cat", "/etc/hostname"}, nil, true},
		{"used", []string{"/bin/sh", "-c", "echo x > " + tmpFile + "; cat " + tmpFile + " /etc/hostname >/dev/null"}, nil, true},
		{"excluded", []string{"/bin/cat", "/etc/hostname"}, []string{"/tmp"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sums []string
			for i := 0; i < 2; i++ {
				dir := t.TempDir()
				dest, err := image.ParseDest("oci:" + filepath.Join(dir, "layout") + ":v1")
				if err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(dir, "rootfs.tar.gz")
				po := PackOptions{Output: out, OutputDir: filepath.Join(dir, "tree"), Dockerfile: filepath.Join(dir, "Dockerfile"),
					Image: ImageOptions{Dests: []image.Dest{dest}}}
				po.Epoch = &epoch
				// Dir /: the working directory (the checkout, which may be under
				// /tmp) would be kept in the image
				_, r := build(t, BuildOptions{Command: tc.command, Dir: "/", Paths: PathOptions{Excludes: tc.excludes}, Pack: po})
				if e := r.List.Lookup("/tmp"); (e != nil) != tc.want {
					t.Errorf("/tmp in the list: %+v", e)
				}
				f, err := os.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				h := sha256.New()
				hdr, under := tarTmp(t, io.TeeReader(f, h))
				io.Copy(h, f)
				f.Close()
				sums = append(sums, string(h.Sum(nil)))
				layer := ociLayer(t, filepath.Join(dir, "layout"))
				lhdr, lunder := tarTmp(t, layer)
				layer.Close()
				info, statErr := os.Stat(filepath.Join(dir, "tree", "tmp"))
				if !tc.want {
					if hdr != nil || lhdr != nil || statErr == nil {
						t.Errorf("/tmp excluded, but in the archive (%v), the image (%v) or the tree (%v)", hdr != nil, lhdr != nil, statErr == nil)
					}
					continue
				}
				for what, h := range map[string]*tar.Header{"archive": hdr, "image": lhdr} {
					if h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o1777 || h.Uid != 0 || h.Gid != 0 || h.ModTime.Unix() != 0 {
						t.Errorf("%s: /tmp is %+v, expected a directory, 1777, root's, at the epoch", what, h)
					}
				}
				if len(under)+len(lunder) > 0 {
					t.Errorf("/tmp is not empty: %v %v", under, lunder)
				}
				if statErr != nil || !info.IsDir() || info.Mode()&os.ModeSticky == 0 || info.Mode().Perm() != 0o777 {
					t.Errorf("--output-dir: /tmp %v %v", info, statErr)
				} else if names, _ := os.ReadDir(filepath.Join(dir, "tree", "tmp")); len(names) > 0 {
					t.Errorf("--output-dir: /tmp holds %v", names)
				}
			}
			if sums[0] != sums[1] {
				t.Errorf("two builds made different archives")
			}
		})
	}
}

package image

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/tarball"
)

var update = flag.Bool("update", false, "rewrite golden files")

var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// hello is a static C program, compiled for the test.
const hello = `#include <stdio.h>
int main(void) { puts("hello from a scratch image"); return 0; }
`

// rootfs makes a root under parent (files, a link, a static program when
// withProgram) and writes its archive with compression c; it returns
// the archive's path.
func rootfs(t *testing.T, parent string, c tarball.Compression, withProgram bool) string {
	t.Helper()
	root := filepath.Join(parent, "root")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(root, "etc/motd"), bytes.Repeat([]byte("a scratch image\n"), 100), 0o644))
	must(os.Symlink("usr/bin", filepath.Join(root, "bin")))
	paths := []string{"/etc/motd", "/bin"}
	if withProgram {
		testenv.Need(t, "gcc")
		src := filepath.Join(parent, "hello.c")
		must(os.WriteFile(src, []byte(hello), 0o644))
		if out, err := exec.Command("gcc", "-static", "-O2", "-o", filepath.Join(root, "usr/bin/hello"), src).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, out)
		}
		paths = append(paths, "/usr/bin/hello")
	}
	res, err := rootpath.New(root)
	must(err)
	b := filelist.NewBuilder(res)
	for _, p := range paths {
		_, err := b.Add(p, filelist.NoFollow, filelist.Reason{Source: "test"})
		must(err)
	}
	l := b.List()
	archive := filepath.Join(parent, "rootfs.tar"+map[tarball.Compression]string{tarball.Gzip: ".gz", tarball.Zstd: ".zst", tarball.None: ""}[c])
	st, err := tarball.WriteFile(context.Background(), archive, l.Root, l.Entries, tarball.Options{Compression: c, Epoch: &epoch, Hash: true})
	if err != nil {
		t.Fatal(err)
	}
	written.Store(archive, st)
	return archive
}

// written holds the stats of each archive rootfs wrote: its hashes.
var written sync.Map

func testConfig() Config {
	return Config{
		Cmd:        []string{"/usr/bin/hello", "--greet"},
		Env:        []string{"LANG=C.UTF-8"},
		WorkingDir: "/srv",
		User:       "1000:1000",
		Ports:      []string{"8080/tcp", "53/udp"},
		Labels:     map[string]string{"org.example.team": "tools"},
		Created:    &epoch,
		Source:     "https://example.invalid/app.git",
		Revision:   "0123abcd",
		Platform:   Platform{OS: "linux", Architecture: "amd64"},
	}
}

func newImage(t *testing.T, archive string, c tarball.Compression, cfg Config) *Image {
	t.Helper()
	st, _ := written.Load(archive)
	l, err := NewLayer(archive, c, st.(tarball.Stats))
	if err != nil {
		t.Fatal(err)
	}
	img, err := New(l, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestGolden: the config and the manifest of a fixed archive and config,
// byte for byte (go test -update rewrites them).
func TestGolden(t *testing.T) {
	testenv.NeedRoot(t) // owners in the archive are the files' (root's)
	for _, c := range []tarball.Compression{tarball.Gzip, tarball.Zstd, tarball.None} {
		t.Run(string(c), func(t *testing.T) {
			dir := t.TempDir()
			archive := rootfs(t, dir, c, false)
			img := newImage(t, archive, c, testConfig())
			cfg, err := img.RawConfig()
			if err != nil {
				t.Fatal(err)
			}
			man, err := img.RawManifest()
			if err != nil {
				t.Fatal(err)
			}
			got := append(append(append(cfg, '\n'), man...), '\n')
			golden := filepath.Join("testdata", "image-"+string(c)+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("config and manifest differ from %s:\n%s\nwant:\n%s", golden, got, want)
			}
			data, _ := os.ReadFile(archive)
			if img.Layer.Size() != int64(len(data)) {
				t.Errorf("layer size %d, archive %d bytes", img.Layer.Size(), len(data))
			}
		})
	}
}

// TestConfig checks what the config says, field by field.
func TestConfig(t *testing.T) {
	cf, ann, err := testConfig().configFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Cmd, " ") != "/usr/bin/hello --greet" || len(c.Entrypoint) != 0 {
		t.Errorf("Cmd %q Entrypoint %q", c.Cmd, c.Entrypoint)
	}
	if strings.Join(c.Env, " ") != "PATH="+DefaultPath+" LANG=C.UTF-8" {
		t.Errorf("Env %q: want the default PATH first, then the given", c.Env)
	}
	if c.WorkingDir != "/srv" || c.User != "1000:1000" {
		t.Errorf("WorkingDir %q User %q", c.WorkingDir, c.User)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok || len(c.ExposedPorts) != 2 {
		t.Errorf("ExposedPorts %v", c.ExposedPorts)
	}
	want := map[string]string{
		"org.example.team": "tools",
		AnnotationCreated:  "2025-06-01T12:00:00Z",
		AnnotationSource:   "https://example.invalid/app.git",
		AnnotationRevision: "0123abcd",
	}
	for k, v := range want {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
		if strings.HasPrefix(k, annotationPrefix) && ann[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, ann[k], v)
		}
	}
	if _, ok := ann["org.example.team"]; ok {
		t.Error("a label outside org.opencontainers.image became an annotation")
	}
	if !cf.Created.Equal(epoch) {
		t.Errorf("created %v", cf.Created)
	}

	// Without SOURCE_DATE_EPOCH: 1970 and no created label; a PATH given wins.
	cfg := testConfig()
	cfg.Created, cfg.Env = nil, []string{"PATH=/app"}
	cf, _, err = cfg.configFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Created.Unix() != 0 || cf.Config.Labels[AnnotationCreated] != "" {
		t.Errorf("without an epoch: created %v, label %q", cf.Created, cf.Config.Labels[AnnotationCreated])
	}
	if strings.Join(cf.Config.Env, " ") != "PATH=/app" {
		t.Errorf("Env %q", cf.Config.Env)
	}

	for _, bad := range []func(*Config){
		func(c *Config) { c.Cmd = nil },
		func(c *Config) { c.Platform = Platform{} },
		func(c *Config) { c.Env = []string{"NOEQUALS"} },
		func(c *Config) { c.Ports = []string{"99999"} },
	} {
		c := testConfig()
		bad(&c)
		if _, _, err := c.configFile(); err == nil {
			t.Errorf("config %+v: no error", c)
		}
	}
}

// TestPlatformOf reads the architecture of a program gcc made here.
func TestPlatformOf(t *testing.T) {
	dir := t.TempDir()
	rootfs(t, dir, tarball.Gzip, true)
	p, err := PlatformOf(filepath.Join(dir, "root/usr/bin/hello"))
	if err != nil {
		t.Fatal(err)
	}
	if p.OS != "linux" || p.Architecture != runtime.GOARCH {
		t.Errorf("platform %s, want linux/%s", p, runtime.GOARCH)
	}
	if _, err := PlatformOf(filepath.Join(dir, "root/etc/motd")); err == nil || !strings.Contains(err.Error(), "not an ELF program") {
		t.Errorf("a text file: %v", err)
	}
	if _, err := PlatformOf(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file: no error")
	}
}

// TestSameDigest: the same files, packed in two directories a second
// apart, give the same layer, the same image and the same OCI layout
// and docker archive, byte for byte.
func TestSameDigest(t *testing.T) {
	testenv.NeedRoot(t)
	var digests, layers []string
	var files [][]byte
	for i := range 2 {
		if i == 1 {
			time.Sleep(1100 * time.Millisecond)
		}
		dir := t.TempDir()
		archive := rootfs(t, dir, tarball.Gzip, false)
		img := newImage(t, archive, tarball.Gzip, testConfig())
		digests = append(digests, img.Digest)
		layers = append(layers, img.Layer.Digest())
		oci, _ := ParseDest("oci:" + filepath.Join(dir, "layout") + ":v1")
		arch, _ := ParseDest("docker-archive:" + filepath.Join(dir, "app.tar") + ":app:v1")
		for _, d := range []Dest{oci, arch} {
			if _, err := Write(context.Background(), img, d, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		index, err := os.ReadFile(filepath.Join(dir, "layout/index.json"))
		if err != nil {
			t.Fatal(err)
		}
		tar, err := os.ReadFile(filepath.Join(dir, "app.tar"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, append(index, tar...))
	}
	if digests[0] != digests[1] || layers[0] != layers[1] {
		t.Errorf("digests differ: %v, layers %v", digests, layers)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("the OCI index or the docker archive differ between the two builds")
	}
}

// TestOCILayout: skopeo and umoci read the layout; a second image with
// another tag is added beside, and the same tag is replaced.
func TestOCILayout(t *testing.T) {
	testenv.Need(t, "skopeo", "umoci")
	testenv.NeedRoot(t)
	dir := t.TempDir()
	archive := rootfs(t, dir, tarball.Gzip, true)
	cfg := testConfig()
	cfg.Platform, _ = PlatformOf(filepath.Join(dir, "root/usr/bin/hello"))
	img := newImage(t, archive, tarball.Gzip, cfg)
	layout := filepath.Join(dir, "layout")
	for _, tag := range []string{"v1", "v2", "v1"} {
		d, _ := ParseDest("oci:" + layout + ":" + tag)
		if _, err := Write(context.Background(), img, d, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	index, _ := os.ReadFile(filepath.Join(layout, "index.json"))
	if n := strings.Count(string(index), refNameAnnotation); n != 2 {
		t.Errorf("index.json has %d tagged images, want 2 (v1 replaced):\n%s", n, index)
	}
	out, err := exec.Command("skopeo", "inspect", "oci:"+layout+":v1").CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	for _, want := range []string{img.Digest, `"Architecture": "` + runtime.GOARCH, "org.opencontainers.image.revision", img.Layer.Digest()} {
		if !strings.Contains(string(out), want) {
			t.Errorf("skopeo inspect: no %q in\n%s", want, out)
		}
	}
	bundle := filepath.Join(dir, "bundle")
	if out, err := exec.Command("umoci", "unpack", "--image", layout+":v2", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	out, err = exec.Command("chroot", filepath.Join(bundle, "rootfs"), "/usr/bin/hello").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello from a scratch image") {
		t.Errorf("the unpacked image's program: %v\n%s", err, out)
	}
	spec, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
	if !strings.Contains(string(spec), `"/usr/bin/hello"`) || !strings.Contains(string(spec), `"cwd": "/srv"`) {
		t.Errorf("umoci's runtime config lacks the command or the working directory:\n%s", spec)
	}

	// Not a layout, not empty: refused, untouched.
	other := filepath.Join(dir, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "keep"), []byte("x"), 0o644)
	d, _ := ParseDest("oci:" + other)
	if _, err := Write(context.Background(), img, d, Options{}); err == nil || !strings.Contains(err.Error(), "neither an OCI layout") {
		t.Errorf("writing into a non-layout directory: %v", err)
	}
}

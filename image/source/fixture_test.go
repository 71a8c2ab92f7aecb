package source

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ggtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// The test image is made once per run, the way users make images, and
// removed at the end (TestMain):
//
//   - a tiny base: a few of the host's programs and their libraries, a
//     setuid copy, a symlink, a file owned by 1000, `podman import`ed;
//   - `podman build` FROM it: COPY layers, a RUN that removes a file and
//     a directory tree and makes it again (whiteouts), USER, ENV,
//     WORKDIR, ENTRYPOINT, CMD;
//   - `podman push` to an OCI layout (v1), to which one more layer is
//     added (v2) holding what vfs never writes: an opaque directory, a
//     hardlink to a file of an earlier layer, a whiteout of a base file,
//     a symlink owned by 1000, a file with an extended attribute;
//   - v2 `podman pull`ed back, `podman save`d as a docker-archive, and a
//     container of it `podman export`ed: the root Open must match.
type testImage struct {
	dir     string
	layout  string // OCI layout by podman push; tags v1 and v2
	archive string // docker-archive of v2 by podman save, tagged archiveTag
	export  string // podman export of a container of v2
	images  []string
}

const archiveTag = "localhost/sp-pull-test:v2"

var (
	fixtureOnce sync.Once
	fixture     *testImage
	fixtureErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture != nil {
		fixture.remove()
	}
	os.Exit(code)
}

func podman(args ...string) (string, error) {
	full := append([]string{"--storage-driver", "vfs", "--runtime", "runc"}, args...)
	out, err := exec.Command("podman", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// testImageFor makes the test image once.
func testImageFor(t *testing.T) *testImage {
	t.Helper()
	testenv.Need(t, "podman", "skopeo", "ldd")
	testenv.NeedRoot(t)
	fixtureOnce.Do(func() {
		start := time.Now()
		_, fixtureErr = makeTestImage() // sets fixture, for TestMain to remove, even when it fails
		t.Logf("test image made in %v", time.Since(start).Round(time.Millisecond))
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture
}

func (f *testImage) remove() {
	for i := len(f.images) - 1; i >= 0; i-- {
		podman("rmi", "-f", f.images[i])
	}
	os.RemoveAll(f.dir)
}

func makeTestImage() (*testImage, error) {
	dir, err := os.MkdirTemp("", "sp-pull-image-")
	if err != nil {
		return nil, err
	}
	f := &testImage{dir: dir, layout: filepath.Join(dir, "layout"), archive: filepath.Join(dir, "image.tar"), export: filepath.Join(dir, "export.tar")}
	fixture = f // removed at the end even when a step fails
	id := fmt.Sprintf("%d-%d", os.Getpid(), rand.Intn(1e6))
	base, img := "localhost/sp-pull-base:"+id, "localhost/sp-pull-img:"+id

	baseTar := filepath.Join(dir, "base.tar")
	if err := writeBase(baseTar); err != nil {
		return nil, err
	}
	if _, err := podman("import", baseTar, base); err != nil {
		return nil, err
	}
	f.images = append(f.images, base)
	ctx := filepath.Join(dir, "ctx")
	files := map[string]string{
		"files/data/keep":     "keep\n",
		"files/data/gone":     "gone\n",
		"files/opq/old/file":  "old\n",
		"files/opq/old/sub/f": "old too\n",
		"files/srv/big":       strings.Repeat("0123456789abcdef", 8192),
		"Containerfile": "FROM " + base + `
COPY files/ /
COPY --chown=1000:1000 files/data/keep /srv/owned
RUN rm /data/gone && rm -r /opq/old && mkdir -p /opq/old && echo new > /opq/old/new && ln /srv/big /srv/big-link
USER 1000:1000
ENV GREETING=hello
WORKDIR /srv
ENTRYPOINT ["/bin/cat"]
CMD ["/data/keep"]
`,
	}
	for name, content := range files {
		p := filepath.Join(ctx, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	if _, err := podman("build", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "-t", img, ctx); err != nil {
		return nil, err
	}
	f.images = append(f.images, img)
	if _, err := podman("push", img, "oci:"+f.layout+":v1"); err != nil {
		return nil, err
	}
	if err := addCraftedLayer(f.layout); err != nil {
		return nil, err
	}
	out, err := podman("pull", "-q", "oci:"+f.layout+":v2")
	if err != nil {
		return nil, err
	}
	v2 := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	f.images = append(f.images, v2)
	if _, err := podman("tag", v2, archiveTag+"-"+id); err != nil {
		return nil, err
	}
	if _, err := podman("save", "--format", "docker-archive", "-o", f.archive, archiveTag+"-"+id); err != nil {
		return nil, err
	}
	// the archive's tag names the image as the tests know it
	if err := retagArchive(f.archive, archiveTag+"-"+id, archiveTag); err != nil {
		return nil, err
	}
	ctr := "sp-pull-c-" + id
	if _, err := podman("create", "--name", ctr, v2); err != nil {
		return nil, err
	}
	_, err = podman("export", "-o", f.export, ctr)
	podman("rm", "-f", ctr)
	return f, err
}

// writeBase writes the base's tar: sh (dash), cat, rm, ln, mkdir and
// their libraries from the host; a setuid copy of cat; a symlink; a
// file owned by 1000 with an extended attribute.
func writeBase(name string) error {
	out, err := exec.Command("ldd", "/bin/dash", "/bin/mkdir").Output()
	if err != nil {
		return fmt.Errorf("ldd: %v", err)
	}
	libs := map[string]bool{}
	for _, m := range regexp.MustCompile(`(/lib[^ ]*) \(`).FindAllStringSubmatch(string(out), -1) {
		libs[m[1]] = true
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	add := func(h *tar.Header, body []byte) error {
		h.ModTime, h.Format = mtime, tar.FormatPAX
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, d := range []string{"bin", "etc", "lib", "lib/x86_64-linux-gnu", "lib64", "usr", "usr/bin", "home", "home/app"} {
		if err := add(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}, nil); err != nil {
			return err
		}
	}
	host := map[string]string{"bin/sh": "/bin/dash", "bin/cat": "/bin/cat", "bin/rm": "/bin/rm", "bin/ln": "/bin/ln", "bin/mkdir": "/bin/mkdir", "usr/bin/setuid-cat": "/bin/cat"}
	for l := range libs {
		host[strings.TrimPrefix(l, "/")] = l
	}
	names := make([]string, 0, len(host))
	for n := range host {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(host[n])
		if err != nil {
			return err
		}
		mode := int64(0o755)
		if n == "usr/bin/setuid-cat" {
			mode = 0o4755
		}
		if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: mode}, data); err != nil {
			return err
		}
	}
	for _, step := range []error{
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n")),
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/group", Mode: 0o644}, []byte("root:x:0:\napp:x:1000:\n")),
		add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/dog", Linkname: "cat", Mode: 0o777}, nil),
		add(&tar.Header{Typeflag: tar.TypeReg, Name: "home/app/notes", Mode: 0o600, Uid: 1000, Gid: 1000,
			PAXRecords: map[string]string{"SCHILY.xattr.user.scratchpack": "base"}}, []byte("notes\n")),
	} {
		if step != nil {
			return step
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

// addCraftedLayer adds to the layout's v1 a layer with what a vfs build
// never writes, tagged v2.
func addCraftedLayer(dir string) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		return err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	v1img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, e := range []struct {
		h    tar.Header
		body string
	}{
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "opq/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "opq/.wh..wh..opq", Mode: 0o600}},
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "opq/fresh", Mode: 0o644}, body: "fresh\n"},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "data/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeLink, Name: "data/keep-link", Linkname: "data/keep", Mode: 0o640, Gid: 1000}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "bin/.wh.ln", Mode: 0o600}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "srv/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeSymlink, Name: "srv/current", Linkname: "big", Uid: 1000, Gid: 1000}},
		{h: tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}},
		{h: tar.Header{Typeflag: tar.TypeReg, Name: "etc/motd", Mode: 0o640, Gid: 1000,
			PAXRecords: map[string]string{"SCHILY.xattr.user.scratchpack": "layer"}}, body: "hello\n"},
	} {
		h := e.h
		h.ModTime, h.Format, h.Size = mtime, tar.FormatPAX, int64(len(e.body))
		if err := tw.WriteHeader(&h); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	data := buf.Bytes()
	l, err := ggtarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, ggtarball.WithMediaType(types.OCILayer))
	if err != nil {
		return err
	}
	v2, err := mutate.AppendLayers(v1img, l)
	if err != nil {
		return err
	}
	return p.AppendImage(v2, layout.WithAnnotations(map[string]string{refNameAnnotation: "v2"}))
}

// retagArchive rewrites the RepoTags of a docker-archive (podman names
// the image by its temporary tag).
func retagArchive(name, from, to string) error {
	in, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	tr := tar.NewReader(bytes.NewReader(in))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if h.Name == "manifest.json" || h.Name == "repositories" {
			body = bytes.ReplaceAll(body, []byte(strings.TrimPrefix(from, "localhost/")), []byte(strings.TrimPrefix(to, "localhost/")))
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

// describeTar describes each entry of a root as a tar holds it (a
// hardlink as what it links to), as describeDir does a directory.
func describeTar(t *testing.T, name string) map[string]string {
	t.Helper()
	fh, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	tr := tar.NewReader(fh)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		n := strings.Trim(filepath.Clean("/"+h.Name), "/")
		if n == "" {
			continue
		}
		var d string
		switch h.Typeflag {
		case tar.TypeLink:
			d = out[strings.Trim(filepath.Clean("/"+h.Linkname), "/")]
		case tar.TypeReg:
			body, _ := io.ReadAll(tr)
			d = fmt.Sprintf("file %o %d:%d %x mtime %d", h.Mode&0o7777, h.Uid, h.Gid, sha256.Sum256(body), h.ModTime.Unix())
		case tar.TypeDir:
			d = fmt.Sprintf("dir %o %d:%d", h.Mode&0o7777, h.Uid, h.Gid)
		case tar.TypeSymlink:
			d = fmt.Sprintf("symlink %d:%d -> %s mtime %d", h.Uid, h.Gid, h.Linkname, h.ModTime.Unix())
		default:
			d = fmt.Sprintf("type %c", h.Typeflag)
		}
		var xs []string
		for k, v := range h.PAXRecords {
			if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok && keptXattr(x) {
				xs = append(xs, x+"="+v)
			}
		}
		sort.Strings(xs)
		if h.Typeflag != tar.TypeLink && len(xs) > 0 {
			d += " xattrs " + strings.Join(xs, ",")
		}
		out[n] = d
	}
}

// keptXattr: the attributes images carry (a host's SELinux label is not
// the image's).
func keptXattr(x string) bool { return strings.HasPrefix(x, "user.") || x == "security.capability" }

func describeDir(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		n, _ := filepath.Rel(root, p)
		perm := uint32(st.Mode) & 0o7777
		var d string
		switch info.Mode().Type() {
		case 0:
			body, _ := os.ReadFile(p)
			d = fmt.Sprintf("file %o %d:%d %x mtime %d", perm, st.Uid, st.Gid, sha256.Sum256(body), st.Mtim.Sec)
		case os.ModeDir:
			d = fmt.Sprintf("dir %o %d:%d", perm, st.Uid, st.Gid)
		case os.ModeSymlink:
			l, _ := os.Readlink(p)
			d = fmt.Sprintf("symlink %d:%d -> %s mtime %d", st.Uid, st.Gid, l, st.Mtim.Sec)
		default:
			d = "type " + info.Mode().Type().String()
		}
		if info.Mode().Type() != os.ModeSymlink {
			var xs []string
			for _, x := range listXattrs(p) {
				if keptXattr(x) {
					v := make([]byte, 4096)
					m, _ := syscall.Getxattr(p, x, v)
					xs = append(xs, x+"="+string(v[:max(m, 0)]))
				}
			}
			sort.Strings(xs)
			if len(xs) > 0 {
				d += " xattrs " + strings.Join(xs, ",")
			}
		}
		out[n] = d
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func listXattrs(p string) []string {
	buf := make([]byte, 4096)
	n, err := syscall.Listxattr(p, buf)
	if err != nil {
		return nil
	}
	var out []string
	for _, b := range bytes.Split(buf[:n], []byte{0}) {
		if len(b) > 0 {
			out = append(out, string(b))
		}
	}
	return out
}

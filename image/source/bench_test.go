package source

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ggtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// BenchmarkOpenVsSkopeoUmoci measures Open of an image served by a
// registry against what a user would otherwise run, side by side in one
// run, each iteration doing all of them in turn (the machine's load
// weighs on all alike):
//
//   - open-cold: Open into an empty cache (pull and apply);
//   - open-warm: Open again (the cache holds it);
//   - skopeo+umoci: skopeo copy docker://... oci:DIR, then umoci unpack;
//   - open-oci-cold and umoci: the same from a local OCI layout.
//
// The image is made of the machine's own Debian files in three layers
// (SCRATCHPACK_BENCH_FROM_MB, default 150 MiB, of /usr/lib and
// /usr/share), like a Debian-based image.
func BenchmarkOpenVsSkopeoUmoci(b *testing.B) {
	testenv.Need(b, "skopeo", "umoci", "docker-registry")
	testenv.NeedRoot(b)
	mb := 150
	if s := os.Getenv("SCRATCHPACK_BENCH_FROM_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	work := b.TempDir()
	oci := filepath.Join(work, "layout")
	files, bytes := benchImage(b, oci, int64(mb)<<20)
	reg := testenv.StartRegistry(b, false)
	ref := reg.Host + "/bench/debian:v1"
	if out, err := exec.Command("skopeo", "copy", "-q", "--dest-tls-verify=false", "oci:"+oci+":v1", "docker://"+ref).CombinedOutput(); err != nil {
		b.Fatalf("skopeo copy: %v %s", err, out)
	}
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v %s", name, err, out)
		}
	}
	times := map[string]time.Duration{}
	measure := func(name string, fn func()) {
		start := time.Now()
		fn()
		times[name] += time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cache := filepath.Join(work, "cache"+strconv.Itoa(i))
		measure("open-cold", func() {
			if _, err := Open(context.Background(), "docker://"+ref, Options{CacheDir: cache, Insecure: true}); err != nil {
				b.Fatal(err)
			}
		})
		measure("open-warm", func() {
			if _, err := Open(context.Background(), "docker://"+ref, Options{CacheDir: cache, Insecure: true}); err != nil {
				b.Fatal(err)
			}
		})
		pulled, bundle := filepath.Join(work, "pulled"+strconv.Itoa(i)), filepath.Join(work, "bundle"+strconv.Itoa(i))
		measure("skopeo+umoci", func() {
			run("skopeo", "copy", "-q", "--src-tls-verify=false", "docker://"+ref, "oci:"+pulled+":v1")
			run("umoci", "unpack", "--image", pulled+":v1", bundle)
		})
		ocache, obundle := filepath.Join(work, "ocache"+strconv.Itoa(i)), filepath.Join(work, "obundle"+strconv.Itoa(i))
		measure("open-oci-cold", func() {
			if _, err := Open(context.Background(), "oci:"+oci+":v1", Options{CacheDir: ocache}); err != nil {
				b.Fatal(err)
			}
		})
		measure("umoci", func() { run("umoci", "unpack", "--image", oci+":v1", obundle) })
		b.StopTimer()
		for _, d := range []string{cache, pulled, bundle, ocache, obundle} {
			os.RemoveAll(d)
		}
		b.StartTimer()
	}
	per := func(n string) float64 { return times[n].Seconds() / float64(b.N) }
	for _, n := range []string{"open-cold", "open-warm", "skopeo+umoci", "open-oci-cold", "umoci"} {
		b.ReportMetric(per(n), n+"-s/op")
	}
	b.ReportMetric(per("open-cold")/per("skopeo+umoci"), "cold/skopeo+umoci")
	b.ReportMetric(per("open-oci-cold")/per("umoci"), "oci-cold/umoci")
	b.Logf("image: %d files, %d MiB in 3 layers; open cold %.2fs, warm %.4fs, skopeo copy + umoci unpack %.2fs (%.2fx); from the layout: open %.2fs, umoci unpack %.2fs (%.2fx)",
		files, bytes>>20, per("open-cold"), per("open-warm"), per("skopeo+umoci"), per("open-cold")/per("skopeo+umoci"),
		per("open-oci-cold"), per("umoci"), per("open-oci-cold")/per("umoci"))
}

// benchImage writes an OCI layout (tag v1) of up to max bytes of the
// machine's files in three gzip layers; it returns the files and bytes.
func benchImage(b *testing.B, dir string, max int64) (int, int64) {
	b.Helper()
	var paths []string
	var total int64
	roots := []string{"/usr/share", "/usr/lib/x86_64-linux-gnu", "/usr/lib/python3"}
	for i, root := range roots {
		budget := max * int64(i+1) / int64(len(roots)) // a share of each, as many small files as an image has
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || total > budget {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				if info, err := d.Info(); err == nil && info.Size() < 8<<20 {
					total += info.Size()
					paths = append(paths, p)
				}
			}
			return nil
		})
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	third := len(paths)/3 + 1
	for start := 0; start < len(paths); start += third {
		part := paths[start:min(start+third, len(paths))]
		f := filepath.Join(b.TempDir(), "layer.tar.gz")
		if err := writeLayer(f, part); err != nil {
			b.Fatal(err)
		}
		l, err := ggtarball.LayerFromFile(f, ggtarball.WithMediaType(types.OCILayer))
		if err != nil {
			b.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			b.Fatal(err)
		}
	}
	writeOCILayout(b, img, dir, "v1")
	return len(paths), total
}

// writeLayer writes the files, with their parent directories, as a
// gzip tar.
func writeLayer(name string, paths []string) error {
	out, err := os.Create(name)
	if err != nil {
		return err
	}
	defer out.Close()
	bw := bufio.NewWriter(out)
	zw := gzip.NewWriter(bw)
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	for _, p := range paths {
		var parents []string
		for d := filepath.Dir(p); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: parents[i][1:] + "/", Mode: 0o755, Format: tar.FormatPAX}); err != nil {
				return err
			}
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: p[1:], Mode: int64(info.Mode().Perm()), Size: info.Size(), ModTime: info.ModTime(), Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			f.Close()
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
	}
	for _, c := range []io.Closer{tw, zw} {
		if err := c.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

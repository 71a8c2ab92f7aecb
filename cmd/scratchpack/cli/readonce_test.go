package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestImageReadsArchiveOnce: --image takes the layer's digest and diffID
// as the archive is written. The build, traced with strace, opens its
// archive for reading once (to copy it into the layout) and each packed
// file once, with -o FILE and with -o -: were the archive hashed by
// reading it back, or the rootfs packed again for the image, the counts
// would be 2.
func TestImageReadsArchiveOnce(t *testing.T) {
	exe, dir, data := readOnceFiles(t)
	pack := []string{"pack", "-q", "--files", "lst", "--package-metadata=false", "--secrets", "off", "--cmd", `["/usr/bin/true"]`}
	for _, tt := range []struct {
		name, output, archive string
	}{
		{"file", "out.tar.gz", regexp.QuoteMeta(`"out.tar.gz"`)},
		{"stdout", "-", `"[^"]*/scratchpack-layer-[^"/]*/layer"`}, // the layer's temporary file
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(dir, tt.name+".strace")
			args := append([]string{"-f", "-qq", "-e", "trace=open,openat", "-o", log, exe}, pack...)
			args = append(args, "--image", "oci:layout-"+tt.name, "-o", tt.output)
			cmd := exec.Command("strace", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SCRATCHPACK_TEST_MAIN=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("pack: %v\n%s", err, out)
			}
			trace, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			readOpens := func(path string) int {
				re := regexp.MustCompile(path + `, O_RDONLY[|A-Z_]*\) = \d`)
				return len(re.FindAll(trace, -1))
			}
			if n := readOpens(tt.archive); n != 1 {
				t.Errorf("the archive (%s) was opened for reading %d times, want once (its copy into the layout)", tt.archive, n)
			}
			if n := readOpens(regexp.QuoteMeta(`"` + data + `"`)); n != 1 {
				t.Errorf("%s was opened for reading %d times, want once: the rootfs is packed once", data, n)
			}
		})
	}
}

// TestOutputDirReadsFilesOnce: --output-dir is extracted from the tar
// stream as the archive is written. Traced with strace, a pack with
// -o FILE, -o - or no archive, with or without --image, opens each
// packed file for reading once: were the rootfs packed again for the
// tree, the count would be 2.
func TestOutputDirReadsFilesOnce(t *testing.T) {
	exe, dir, data := readOnceFiles(t)
	pack := []string{"pack", "-q", "--files", "lst", "--package-metadata=false", "--secrets", "off"}
	image := []string{"--cmd", `["/usr/bin/true"]`, "--image"}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"file", []string{"-o", "out.tar.gz"}},
		{"file-image", append([]string{"-o", "out-image.tar.gz"}, append(image, "oci:layout-file")...)},
		{"stdout-image", append([]string{"-o", "-"}, append(image, "oci:layout-stdout")...)},
		{"alone", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(dir, tt.name+".strace")
			tree := filepath.Join(dir, "tree-"+tt.name)
			args := append([]string{"-f", "-qq", "-e", "trace=open,openat", "-o", log, exe}, pack...)
			args = append(append(args, tt.args...), "--output-dir", tree)
			cmd := exec.Command("strace", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SCRATCHPACK_TEST_MAIN=1")
			cmd.Stdout = io.Discard
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("pack: %v\n%s", err, stderr.Bytes())
			}
			trace, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(regexp.QuoteMeta(`"`+data+`"`) + `, O_RDONLY[|A-Z_]*\) = \d`)
			if n := len(re.FindAll(trace, -1)); n != 1 {
				t.Errorf("%s was opened for reading %d times, want once: the archive and the tree come from one read", data, n)
			}
			got, err := os.ReadFile(filepath.Join(tree, data))
			if err != nil || string(got) != strings.Repeat("scratchpack ", 40000) {
				t.Errorf("the tree's copy of %s: %d bytes, %v", data, len(got), err)
			}
		})
	}
}

// readOnceFiles makes the list the read-once tests pack, in a new
// directory: /usr/bin/true and a data file of 480 KB. It returns this
// test binary (the CLI, run under strace), the directory and the data
// file.
func readOnceFiles(t *testing.T) (exe, dir, data string) {
	t.Helper()
	need(t, "strace", "/usr/bin/true")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	data = filepath.Join(dir, "data.bin")
	if err := os.WriteFile(data, []byte(strings.Repeat("scratchpack ", 40000)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lst"), []byte("/usr/bin/true\n"+data+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return exe, dir, data
}

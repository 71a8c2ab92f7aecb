package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestInspect(t *testing.T) {
	root, l := fixture(t)
	raw := write(t, root, l, Options{})
	r, err := NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inspect(context.Background(), r, 2)
	if err != nil {
		t.Fatal(err)
	}
	if in.Compression != Gzip || in.Files != 3 || in.Symlinks != 2 || in.Hardlinks != 1 || in.Bytes != 55000+7+1 {
		t.Errorf("totals %+v", in)
	}
	if len(in.Largest) != 2 || in.Largest[0].Path != "/usr/bin/app" || in.Largest[1].Size != 7 {
		t.Errorf("largest %+v", in.Largest)
	}
	if len(in.Setuid) != 1 || in.Setuid[0] != "/usr/bin/app" || len(in.Capabilities) != 1 || in.Capabilities[0] != "/usr/lib/libx.so.1.0" {
		t.Errorf("setuid %v caps %v", in.Setuid, in.Capabilities)
	}
	if len(in.Dangling) != 0 || len(in.Duplicates) != 0 {
		t.Errorf("dangling %v duplicates %v", in.Dangling, in.Duplicates)
	}
}

// TestInspectDuplicatesAndDangling uses an archive made by another tool:
// implied directories, the same bytes twice, links that lead nowhere.
func TestInspectDuplicatesAndDangling(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data string) {
		h.Size = int64(len(data))
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		tw.WriteHeader(h)
		tw.Write([]byte(data))
	}
	add(&tar.Header{Name: "usr/share/a/LICENSE", Mode: 0o644}, "same text")
	add(&tar.Header{Name: "usr/share/b/LICENSE", Mode: 0o644}, "same text")
	add(&tar.Header{Name: "usr/share/c/LICENSE", Mode: 0o644}, "same text")
	add(&tar.Header{Name: "lib", Typeflag: tar.TypeSymlink, Linkname: "usr/share"}, "")
	add(&tar.Header{Name: "ok", Typeflag: tar.TypeSymlink, Linkname: "/lib/a/LICENSE"}, "")
	add(&tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "lib/../share/b"}, "")
	add(&tar.Header{Name: "gone", Typeflag: tar.TypeSymlink, Linkname: "/usr/share/d/LICENSE"}, "")
	add(&tar.Header{Name: "loop", Typeflag: tar.TypeSymlink, Linkname: "loop"}, "")
	tw.Close()
	r, _ := NewReader(&buf)
	in, err := Inspect(context.Background(), r, 10)
	if err != nil {
		t.Fatal(err)
	}
	if in.Compression != None || len(in.Duplicates) != 1 || in.Duplicates[0].Wasted != 18 || len(in.Duplicates[0].Paths) != 3 {
		t.Errorf("duplicates %+v", in.Duplicates)
	}
	var dangling []string
	for _, d := range in.Dangling {
		dangling = append(dangling, d.Path)
	}
	if len(dangling) != 2 || dangling[0] != "/gone" || dangling[1] != "/loop" {
		t.Errorf("dangling %v", dangling)
	}
	// a file that is not an archive
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("not a tar file at all, just text that goes on for a while......................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................"), 0o644)
	ar, err := Open(p)
	if err == nil {
		_, err = Inspect(context.Background(), ar, 1)
		ar.Close()
	}
	if err == nil {
		t.Error("a text file was inspected as an archive")
	}
}

// TestInspectKeeping: the files keep asks for come back whole, with the
// inspection of the same pass; the others (and links, directories) are
// not kept.
func TestInspectKeeping(t *testing.T) {
	root, l := fixture(t)
	raw := write(t, root, l, Options{})
	r, err := NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	in, err := InspectKeeping(context.Background(), r, 2, func(p string) bool {
		asked = append(asked, p)
		return p == "/usr/lib/libx.so.1.0"
	})
	if err != nil {
		t.Fatal(err)
	}
	if in.Files != 3 || len(in.Kept) != 1 || string(in.Kept["/usr/lib/libx.so.1.0"]) != "library" {
		t.Errorf("files %d, kept %q", in.Files, in.Kept)
	}
	if len(asked) != 3 {
		t.Errorf("keep asked about %q: want the 3 regular files only", asked)
	}
}

package tarball

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract: whatever the archive holds, Extract writes nothing outside
// its directory. Each input is extracted into dir/target beside the
// canary tree dir/outside; afterwards dir must hold only the two, the
// target still a directory and the canary unchanged (contents, modes,
// owners, times, link counts, extended attributes), so that nothing was
// written, linked, changed or followed outside. Extract may refuse the
// archive: its error does not matter, only what it did.
//
// An input whose first byte is even is an archive as it stands (tar,
// gzip or zstd); an odd one is a program for entries(), which reaches
// links, directories and names that lead outside far more often than bit
// flips in tar headers would.
func FuzzExtract(f *testing.F) {
	for _, c := range extractCases {
		f.Add(program(c.ents))
	}
	for _, name := range []string{"rootfs.tar.none", "rootfs.tar.gzip", "rootfs.tar.zstd", "sparse-5GB.tar.gz"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{0}, data...))
	}
	owners := os.Geteuid() == 0
	s, before := fuzzSandbox(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		archive := in[1:]
		if in[0]&1 == 1 {
			archive = s.tarOf(t, entries(in[1:]), true)
		}
		err := s.extract(t, archive, ExtractOptions{Owners: owners})
		s.checkFuzzed(t, before, "extraction", err)
	})
}

// fuzzSandbox is one sandbox per fuzzing process, emptied between
// inputs, made again after an input that escaped (so that minimizing
// starts clean); and the canary tree's snapshot.
func fuzzSandbox(f *testing.F) (*sandbox, map[string]string) {
	s := &sandbox{dir: filepath.Join(f.TempDir(), "box")}
	s.target, s.outside = filepath.Join(s.dir, "target"), filepath.Join(s.dir, "outside")
	if err := s.reset(true); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.unlock(s.dir) })
	return s, snapshot(f, s.outside)
}

// checkFuzzed fails the input when what (which returned err) changed
// anything outside the target, and resets the sandbox for the next.
func (s *sandbox) checkFuzzed(t *testing.T, before map[string]string, what string, err error) {
	t.Helper()
	bad := s.escapes(t, before)
	if rerr := s.reset(len(bad) > 0); rerr != nil {
		t.Fatalf("resetting the sandbox: %v", rerr)
	}
	if len(bad) > 0 {
		t.Fatalf("%s (err = %v) changed things outside its directory:\n%s", what, err, strings.Join(bad, "\n"))
	}
}

// words are the names and link targets of entry programs: the same few
// names again and again, so that entries meet each other, and the ways
// out of the target.
var words = []string{
	"a", "a/", "a/b", "a/b/c", "b", "escape", "escape/", "escape/x",
	"escape/sub/x", "escape/canary", "link", ".", "./", "..", "../outside", "../outside/canary",
	"@OUT", "@OUT/canary", "@OUT/sub", "@OUT/link", "@DIR", "/", "a/../..", "nothing",
}

// kinds are the entry kinds of a program: the first nine, then the
// type byte itself as a tar type flag.
var kinds = []byte{tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink,
	tar.TypeChar, tar.TypeFifo, tar.TypeBlock, 'D', 'F'}

// entries decodes a fuzz input into archive entries. Each entry is
// <kind> <name> <link> <mode>. A kind below 0x80 picks from kinds ('D'
// and 'F' are a directory and a file with an extended attribute whose
// value is the link); from 0x80 its low 7 bits are the tar type flag. A
// name or link byte below 0x80 picks from words, a byte n from 0x80 is
// followed by n-0x80 bytes of text. The mode byte gives the permission
// bits; when odd, a file's body is its name.
func entries(b []byte) []ent { return entriesOf(b, words) }

// entriesOf is entries with another list of words.
func entriesOf(b []byte, words []string) []ent {
	next := func() byte {
		if len(b) == 0 {
			return 0
		}
		c := b[0]
		b = b[1:]
		return c
	}
	text := func() string {
		c := next()
		if c < 0x80 {
			return words[int(c)%len(words)]
		}
		n := min(int(c-0x80), len(b))
		s := string(b[:n])
		b = b[n:]
		return s
	}
	var out []ent
	for len(b) > 0 && len(out) < 64 {
		k := next()
		var e ent
		if k < 0x80 {
			e.typ = kinds[int(k)%len(kinds)]
		} else {
			e.typ = k & 0x7f
		}
		e.name, e.link = text(), text()
		m := next()
		// rwx for the owner always, so that a test not run as root
		// can walk what it extracted; setuid, setgid and the group and
		// other bits from the fuzzer.
		e.mode = 0o700 | int64(m&0o77) | int64(m>>6)<<10
		if e.typ == 'D' || e.typ == 'F' {
			e.pax = map[string]string{"SCHILY.xattr.user.fuzz": e.link}
			e.link = ""
			e.typ = map[byte]byte{'D': tar.TypeDir, 'F': tar.TypeReg}[e.typ]
		}
		if e.typ == tar.TypeReg && m&1 == 1 {
			e.body = e.name
		}
		out = append(out, e)
	}
	return out
}

// program encodes entries as a fuzz input for entries().
func program(ents []ent) []byte { return programOf(ents, words) }

// programOf is program with another list of words.
func programOf(ents []ent, words []string) []byte {
	out := []byte{1}
	text := func(s string) {
		for i, w := range words {
			if w == s {
				out = append(out, byte(i))
				return
			}
		}
		s = s[:min(len(s), 0x7f)]
		out = append(out, 0x80+byte(len(s)))
		out = append(out, s...)
	}
	for _, e := range ents {
		if e.typ == layerBreak {
			out = append(out, 0x80|layerBreak)
			continue
		}
		k := byte(0x80 | e.typ)
		for i, kind := range kinds {
			if kind == e.typ && e.pax == nil {
				k = byte(i)
			}
		}
		link := e.link
		if e.pax != nil {
			k = map[byte]byte{tar.TypeDir: 7, tar.TypeReg: 8}[e.typ]
			for _, v := range e.pax {
				link = v
			}
		}
		m := byte(e.mode&0o77) | byte(e.mode>>10&3)<<6
		if e.body != "" {
			m |= 1
		}
		out = append(out, k)
		text(e.name)
		text(link)
		out = append(out, m)
	}
	return out
}

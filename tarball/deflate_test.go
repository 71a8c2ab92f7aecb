package tarball

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// inflate decompresses with the standard library's reader.
func inflate(t testing.TB, dict, comp []byte) []byte {
	t.Helper()
	r := flate.NewReaderDict(bytes.NewReader(comp), dict)
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

func deflateInputs(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewSource(1))
	random := make([]byte, 300<<10)
	rng.Read(random)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog; "), 5000)
	skewed := make([]byte, 200<<10)
	for i := range skewed {
		skewed[i] = byte(rng.ExpFloat64() * 3)
	}
	elf, err := os.ReadFile("/bin/ls")
	if err != nil {
		elf = text
	}
	return map[string][]byte{
		"empty":   {},
		"one":     {'x'},
		"two":     []byte("ab"),
		"zeros":   make([]byte, 1<<20),
		"random":  random,
		"text":    text,
		"skewed":  skewed,
		"elf":     elf,
		"mixed":   append(append(append([]byte{}, elf...), random[:70000]...), text...),
		"runs258": bytes.Repeat([]byte{1, 2, 3}, 100000),
	}
}

// TestDeflateRoundTrip: every level, with and without a dictionary,
// as a last block and as a block followed by another.
func TestDeflateRoundTrip(t *testing.T) {
	for name, data := range deflateInputs(t) {
		for level := range zlevels {
			d := newDeflater(zlevels[level])
			comp := d.compress(nil, nil, data, true)
			if got := inflate(t, nil, comp); !bytes.Equal(got, data) {
				t.Fatalf("%s level %d: round trip differs (%d bytes, want %d)", name, level, len(got), len(data))
			}
			// two parts: the second with the first's tail as dictionary
			half := len(data) / 2
			dict := data[:half]
			if len(dict) > dWindow {
				dict = dict[len(dict)-dWindow:]
			}
			first := d.compress(nil, nil, data[:half], false)
			both := d.compress(first, dict, data[half:], true)
			if got := inflate(t, nil, both); !bytes.Equal(got, data) {
				t.Fatalf("%s level %d: two blocks differ", name, level)
			}
		}
	}
}

// FuzzDeflate: whatever the input and the split, inflate gives it back.
func FuzzDeflate(f *testing.F) {
	f.Add([]byte("hello hello hello"), uint16(5))
	f.Add(bytes.Repeat([]byte{0}, 1000), uint16(300))
	f.Add([]byte{}, uint16(0))
	f.Add(bytes.Repeat([]byte("abcabd"), 9000), uint16(0xc123))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		// the low bits split the input, the top three pick a level 4-9
		s := int(split&0x1fff) % (len(data) + 1)
		d := newDeflater(zlevels[4+int(split>>13)%6])
		first := d.compress(nil, nil, data[:s], false)
		both := d.compress(first, data[:s], data[s:], true)
		if got := inflate(t, nil, both); !bytes.Equal(got, data) {
			t.Fatalf("round trip differs")
		}
	})
}

// TestGzipVsGzip6: on shared libraries, the default level comes within
// 1 % of gzip -6 (klauspost's level 8 was 2.4 % over on them).
func TestGzipVsGzip6(t *testing.T) {
	testenv.Need(t, "gzip")
	libs, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/lib[cm]*.so*")
	var data []byte
	for _, l := range libs {
		if st, err := os.Lstat(l); err == nil && st.Mode().IsRegular() {
			b, _ := os.ReadFile(l)
			data = append(data, b...)
		}
		if len(data) > 8<<20 {
			break
		}
	}
	if len(data) < 1<<20 {
		t.Skip("fewer than 1 MiB of shared libraries in /usr/lib/x86_64-linux-gnu")
	}
	var ours bytes.Buffer
	z, err := newParallelGzip(&ours, DefaultGzipLevel, 0)
	if err != nil {
		t.Fatal(err)
	}
	z.Write(data)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("gzip", "-6", "-c")
	cmd.Stdin = bytes.NewReader(data)
	ref, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(ours.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("gunzip of our output: %v, %d bytes of %d", err, len(back), len(data))
	}
	ratio := float64(ours.Len()) / float64(len(ref))
	t.Logf("%d bytes of libraries: level %d %d bytes, gzip -6 %d: %.4fx", len(data), DefaultGzipLevel, ours.Len(), len(ref), ratio)
	if ratio > 1.01 {
		t.Errorf("level %d is %.4fx gzip -6's size on shared libraries, want at most 1.01x", DefaultGzipLevel, ratio)
	}
}

// TestParallelGzipWorkers: the gzip stream is the same bytes whatever
// the number of workers, and gunzip gives the input back.
func TestParallelGzipWorkers(t *testing.T) {
	var data []byte
	for _, in := range deflateInputs(t) {
		data = append(data, in...)
	}
	for _, level := range []int{1, DefaultGzipLevel, 9} {
		var first []byte
		for _, workers := range []int{1, 2, 5} {
			var out bytes.Buffer
			z, err := newParallelGzip(&out, level, workers)
			if err != nil {
				t.Fatal(err)
			}
			// uneven writes, so that blocks fill across them
			for p := data; len(p) > 0; {
				n := min(len(p), 70001)
				if _, err := z.Write(p[:n]); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = out.Bytes()
				zr, err := gzip.NewReader(bytes.NewReader(first))
				if err != nil {
					t.Fatal(err)
				}
				if back, err := io.ReadAll(zr); err != nil || !bytes.Equal(back, data) {
					t.Fatalf("level %d: gunzip: %v, %d bytes of %d", level, err, len(back), len(data))
				}
				continue
			}
			if !bytes.Equal(out.Bytes(), first) {
				t.Errorf("level %d: %d workers give other bytes (%d) than 1 worker (%d)", level, workers, out.Len(), len(first))
			}
		}
	}
}

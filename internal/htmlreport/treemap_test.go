package htmlreport

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// TestSquarify: the cells fill the rectangle without overlapping, each
// with the area its size asks for; equal sizes in a square give cells
// close to squares.
func TestSquarify(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		name  string
		sizes []float64
		r     rect
	}{
		{"one", []float64{5}, rect{0, 0, 100, 50}},
		{"equal in a square", []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, rect{10, 10, 400, 400}},
		{"a giant and dust", []float64{1e9, 10, 5, 1}, rect{0, 0, 1200, 620}},
		{"tall", []float64{6, 6, 4, 3, 2, 2, 1}, rect{0, 0, 60, 400}},
		{"random", randomSizes(rng, 300), rect{0, 0, 1200, 620}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cells := squarify(tc.sizes, tc.r)
			if len(cells) != len(tc.sizes) {
				t.Fatalf("%d cells for %d sizes", len(cells), len(tc.sizes))
			}
			var total, area float64
			for _, s := range tc.sizes {
				total += s
			}
			const eps = 1e-6
			for i, c := range cells {
				if c.X < tc.r.X-eps || c.Y < tc.r.Y-eps || c.X+c.W > tc.r.X+tc.r.W+eps || c.Y+c.H > tc.r.Y+tc.r.H+eps {
					t.Errorf("cell %d %+v is outside %+v", i, c, tc.r)
				}
				want := tc.sizes[i] / total * tc.r.W * tc.r.H
				if math.Abs(c.W*c.H-want) > 1e-6*tc.r.W*tc.r.H {
					t.Errorf("cell %d has area %g, want %g", i, c.W*c.H, want)
				}
				area += c.W * c.H
				for j := 0; j < i; j++ {
					o := cells[j]
					if math.Min(c.X+c.W, o.X+o.W)-math.Max(c.X, o.X) > eps && math.Min(c.Y+c.H, o.Y+o.H)-math.Max(c.Y, o.Y) > eps {
						t.Errorf("cells %d %+v and %d %+v overlap", i, c, j, o)
					}
				}
			}
			if math.Abs(area-tc.r.W*tc.r.H) > 1e-6*tc.r.W*tc.r.H {
				t.Errorf("the cells cover %g of %g", area, tc.r.W*tc.r.H)
			}
			if tc.name == "equal in a square" {
				for _, c := range cells {
					if ratio := math.Max(c.W/c.H, c.H/c.W); ratio > 1.5 {
						t.Errorf("cell %+v: aspect ratio %.2f", c, ratio)
					}
				}
			}
		})
	}
}

func randomSizes(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.Exp(rng.Float64() * 14) // 1 B to ~1 MB, skewed like files
	}
	// squarify wants them largest first
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] > s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// largePage is an image of n files in n/10 directories of 40 packages.
func largePage(n int) *Page {
	rng := rand.New(rand.NewSource(2))
	p := &Page{Title: "large.tar.gz", Version: "test", Scanned: true}
	for i := 0; i < n; i++ {
		size := int64(math.Exp(rng.Float64() * 14))
		pkg := fmt.Sprintf("pkg%02d", i%40)
		f := File{Path: fmt.Sprintf("/usr/lib/%s/deep/a/b/c/d%04d/file%06d.py", pkg, i%(n/10), i), Kind: "file", Size: size, Package: pkg,
			Reasons: []Reason{{Class: "traced", Text: "traced: openat"}}}
		p.Entries = append(p.Entries, f)
		p.Files++
		p.Bytes += size
	}
	return p
}

// TestLargeImage: thousands of files render to a page of bounded size:
// the treemap draws a bounded number of cells that still add up to the
// image, directories list at most dirRows files, the rest in "N more"
// rows.
func TestLargeImage(t *testing.T) {
	p := largePage(20000)
	// one directory with more files than a listing shows
	for i := 0; i < dirRows+50; i++ {
		p.Entries = append(p.Entries, File{Path: fmt.Sprintf("/big/f%04d", i), Kind: "file", Size: 100})
		p.Files++
		p.Bytes += 100
	}
	tm := buildTreemap(p.Entries)
	if len(tm.Cells) > 6000 {
		t.Errorf("%d treemap cells for %d files: the small ones should share cells", len(tm.Cells), p.Files)
	}
	var top int64
	files := 0
	for _, c := range tm.Cells {
		if c.Depth == 1 {
			top += c.Bytes
		}
		if c.Class == "file" {
			files++
		}
	}
	if top != p.Bytes {
		t.Errorf("the top cells add up to %d bytes, the image has %d", top, p.Bytes)
	}
	if files+tm.Hidden != p.Files {
		t.Errorf("%d file cells and %d hidden files for %d files", files, tm.Hidden, p.Files)
	}
	var buf bytes.Buffer
	if err := Render(&buf, p); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 40<<20 {
		t.Errorf("the page is %d bytes", buf.Len())
	}
	if !strings.Contains(buf.String(), "… 50 more (4.9 KiB) not listed") {
		t.Errorf("the long directory has no \"N more\" row")
	}
	var again bytes.Buffer
	if err := Render(&again, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("two renderings of one page differ")
	}
}

func BenchmarkRenderLarge(b *testing.B) {
	p := largePage(20000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		if err := Render(&buf, p); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
	}
}

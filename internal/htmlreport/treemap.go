package htmlreport

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
)

// rect is an area of the treemap, in SVG user units.
type rect struct{ X, Y, W, H float64 }

// flip swaps x and y.
func (r rect) flip() rect { return rect{r.Y, r.X, r.H, r.W} }

// squarify lays out sizes (largest first, all > 0) in r, keeping the
// cells as close to squares as it can (Bruls, Huizing and van Wijk's
// squarified treemap): it fills rows along the shorter side of what is
// left while adding a cell makes the row's worst aspect ratio no worse.
// The cells' areas are proportional to sizes and together fill r.
func squarify(sizes []float64, r rect) []rect {
	out := make([]rect, 0, len(sizes))
	var total float64
	for _, s := range sizes {
		total += s
	}
	if total <= 0 || r.W <= 0 || r.H <= 0 {
		for range sizes {
			out = append(out, rect{r.X, r.Y, 0, 0})
		}
		return out
	}
	scale := r.W * r.H / total
	areas := make([]float64, len(sizes))
	for i, s := range sizes {
		areas[i] = s * scale
	}
	for i := 0; i < len(areas); {
		side := math.Min(r.W, r.H)
		j := i + 1
		for j < len(areas) && worst(areas[i:j+1], side) <= worst(areas[i:j], side) {
			j++
		}
		row := areas[i:j]
		var sum float64
		for _, a := range row {
			sum += a
		}
		if j == len(areas) {
			sum = r.W * r.H // the last row takes what is left (no drift)
		}
		// lay the row as a column at the left of a wide r; a tall r is
		// flipped (x for y) to be wide, and its cells flipped back
		flip := r.W < r.H
		if flip {
			r = r.flip()
		}
		w := math.Min(sum/r.H, r.W)
		y := r.Y
		for k, a := range row {
			h := a / w
			if k == len(row)-1 {
				h = r.Y + r.H - y
			}
			c := rect{r.X, y, w, h}
			if flip {
				c = c.flip()
			}
			out = append(out, c)
			y += h
		}
		r.X += w
		r.W -= w
		if flip {
			r = r.flip()
		}
		i = j
	}
	return out
}

// worst is the largest aspect ratio in a row of areas laid along side.
func worst(row []float64, side float64) float64 {
	var sum, lo, hi float64
	lo = math.Inf(1)
	for _, a := range row {
		sum += a
		lo = math.Min(lo, a)
		hi = math.Max(hi, a)
	}
	s2, w2 := sum*sum, side*side
	return math.Max(w2*hi/s2, s2/(w2*lo))
}

// node is a package, a directory or a file of the treemap (or a cell
// standing for the small ones left out).
type node struct {
	name  string
	tip   string
	bytes int64
	files int
	color int // the package's palette index
	kids  []*node
	more  bool // stands for several small nodes
}

// Cell is one drawn rectangle of the treemap.
type Cell struct {
	X, Y, W, H string
	Fill       string
	Ink        string // the label's colour: dark on light fills
	Class      string // pkg, dir, file, more
	Tip        string
	Label      string // "" when the cell is too small for one
	LX, LY     string
	Bytes      int64
	Depth      int // 1 packages, 2 directories, 3 files
}

// Treemap is the laid out picture.
type Treemap struct {
	Width, Height int
	Cells         []Cell
	Legend        []Legend
	LegendMore    int // packages left out of the legend
	Hidden        int // files too small to draw, merged into "more" cells
}

// Legend is a package's colour.
type Legend struct {
	Name  string
	Color string
	Bytes int64
	Share string // "41%"
}

const (
	mapWidth  = 1200
	mapHeight = 620
	// minArea is the smallest cell drawn (square units); smaller
	// siblings share one "N more" cell.
	minArea = 120
	// maxKids bounds the cells of one package or directory.
	maxKids = 400
	// legendRows bounds the legend; the packages table has them all.
	legendRows = 20
	// noPackage names the files no package owns.
	noPackage = "no package"
)

// palette holds the package colours, largest package first; the files no
// package owns are grey.
var palette = []string{
	"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
	"#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#8cd17d",
	"#499894", "#f1ce63", "#a0cbe8", "#ffbe7d",
}

const grey = "#a6a6a6"

// buildTreemap lays out the files by package, then by directory.
func buildTreemap(files []File) Treemap {
	tm := Treemap{Width: mapWidth, Height: mapHeight}
	pkgs := map[string]*node{}
	dirs := map[string]map[string]*node{}
	var root node
	for _, f := range files {
		if f.Kind != "file" || f.Size <= 0 {
			continue
		}
		pn := f.Package
		if pn == "" {
			pn = noPackage
		}
		p := pkgs[pn]
		if p == nil {
			p = &node{name: pn}
			pkgs[pn] = p
			dirs[pn] = map[string]*node{}
			root.kids = append(root.kids, p)
		}
		dn := path.Dir(f.Path)
		d := dirs[pn][dn]
		if d == nil {
			d = &node{name: dn}
			dirs[pn][dn] = d
			p.kids = append(p.kids, d)
		}
		d.kids = append(d.kids, &node{name: f.Path, bytes: f.Size, files: 1, tip: fileTip(f)})
		d.bytes += f.Size
		d.files++
		p.bytes += f.Size
		p.files++
		root.bytes += f.Size
		root.files++
	}
	if root.bytes == 0 {
		return tm
	}
	sortNodes(root.kids)
	ci := 0
	for _, p := range root.kids {
		if p.name == noPackage {
			p.color = -1
		} else {
			p.color = ci
			ci++
		}
		p.tip = fmt.Sprintf("%s — %s in %d files", p.name, human(p.bytes), p.files)
		sortNodes(p.kids)
		for _, d := range p.kids {
			d.color = p.color
			d.tip = fmt.Sprintf("%s/ (%s) — %s in %d files", d.name, p.name, human(d.bytes), d.files)
			sortNodes(d.kids)
			for _, f := range d.kids {
				f.color = p.color
			}
		}
		if len(tm.Legend) == legendRows {
			tm.LegendMore++
			continue
		}
		tm.Legend = append(tm.Legend, Legend{Name: p.name, Color: color(p.color, 0), Bytes: p.bytes, Share: percent(p.bytes, root.bytes)})
	}
	tm.place(&root, rect{0, 0, mapWidth, mapHeight}, 0)
	return tm
}

// sortNodes puts the largest first, then by name.
func sortNodes(ns []*node) {
	sort.Slice(ns, func(i, j int) bool {
		if ns[i].bytes != ns[j].bytes {
			return ns[i].bytes > ns[j].bytes
		}
		return ns[i].name < ns[j].name
	})
}

// place draws n in r, then its children inside it.
func (tm *Treemap) place(n *node, r rect, depth int) {
	inner := r
	if depth > 0 {
		c := tm.cell(n, r, depth) // even a sliver: the cells add up to the image
		if len(n.kids) == 0 {
			return
		}
		pad, head := 1.0, 0.0
		if depth == 1 {
			pad = 2
		}
		if c.Label != "" {
			head = 15
		}
		inner = rect{r.X + pad, r.Y + pad + head, r.W - 2*pad, r.H - 2*pad - head}
		if inner.W < 2 || inner.H < 2 {
			tm.Hidden += n.files
			return
		}
	}
	kids := tm.merge(n, inner, depth)
	sizes := make([]float64, len(kids))
	for i, k := range kids {
		sizes[i] = float64(k.bytes)
	}
	for i, kr := range squarify(sizes, inner) {
		tm.place(kids[i], kr, depth+1)
	}
}

// merge keeps the children big enough to draw (at most maxKids) and puts
// the others into one "N more" leaf.
func (tm *Treemap) merge(n *node, r rect, depth int) []*node {
	scale := r.W * r.H / float64(n.bytes)
	keep := len(n.kids)
	for i, k := range n.kids {
		if i >= maxKids || float64(k.bytes)*scale < minArea {
			keep = i
			break
		}
	}
	if keep >= len(n.kids)-1 {
		return n.kids
	}
	rest := &node{more: true, color: n.color}
	var files int
	for _, k := range n.kids[keep:] {
		rest.bytes += k.bytes
		files += k.files
	}
	rest.files = files
	what := "files"
	if depth == 0 {
		what = "packages"
	} else if depth == 1 {
		what = "directories"
	}
	rest.name = fmt.Sprintf("%d more %s", len(n.kids)-keep, what)
	rest.tip = fmt.Sprintf("%s: %s in %d files, each too small to draw", rest.name, human(rest.bytes), files)
	tm.Hidden += files
	return append(n.kids[:keep:keep], rest)
}

// cell adds the rectangle of n.
func (tm *Treemap) cell(n *node, r rect, depth int) Cell {
	c := Cell{X: num(r.X), Y: num(r.Y), W: num(r.W), H: num(r.H), Tip: n.tip, Bytes: n.bytes, Depth: depth}
	label := n.name
	switch {
	case n.more:
		c.Class, c.Fill = "more", color(n.color, 3)
	case depth == 1:
		c.Class, c.Fill = "pkg", color(n.color, 0)
		label = n.name + " · " + human(n.bytes)
	case depth == 2:
		c.Class, c.Fill = "dir", color(n.color, 1)
		label = n.name + "/"
	default:
		c.Class, c.Fill = "file", color(n.color, 2)
		label = path.Base(n.name)
	}
	c.Ink = ink(c.Fill)
	if r.W >= 36 && r.H >= 14 {
		c.Label = fit(label, r.W-6, depth == 2)
		c.LX, c.LY = num(r.X+4), num(r.Y+11.5)
	}
	tm.Cells = append(tm.Cells, c)
	return c
}

// fit shortens s to about w units of 11px text: from the left for
// directories (the end of a path says most), else from the right.
func fit(s string, w float64, left bool) string {
	max := int(w / 6.2)
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	if max < 4 {
		return ""
	}
	if left {
		return "…" + string(r[len(r)-max+1:])
	}
	return string(r[:max-1]) + "…"
}

// color is a package's colour at a level: 0 the package, 1 a directory
// (lighter), 2 a file, 3 the "more" cells.
func color(i, level int) string {
	base := grey
	if i >= 0 {
		base = palette[i%len(palette)]
	}
	// mix with white: the deeper, the lighter
	mix := []float64{0, 0.55, 0.25, 0.7}[level]
	if i >= len(palette) {
		mix = math.Min(mix+0.15, 0.8) // a second round of the palette
	}
	v, _ := strconv.ParseUint(base[1:], 16, 32)
	ch := func(shift uint) int {
		c := float64((v >> shift) & 0xff)
		return int(math.Round(c + (255-c)*mix))
	}
	return fmt.Sprintf("#%02x%02x%02x", ch(16), ch(8), ch(0))
}

// ink is the text colour that reads on a fill: white on dark ones.
func ink(fill string) string {
	v, _ := strconv.ParseUint(fill[1:], 16, 32)
	r, g, b := float64(v>>16&0xff), float64(v>>8&0xff), float64(v&0xff)
	if 0.299*r+0.587*g+0.114*b < 150 {
		return "#ffffff"
	}
	return "#1f2328"
}

// fileTip is a file cell's tooltip: path, size, package, why.
func fileTip(f File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s", f.Path, human(f.Size))
	if f.Package != "" {
		fmt.Fprintf(&b, " (%s)", f.Package)
	}
	for i, r := range f.Reasons {
		if i == 3 {
			fmt.Fprintf(&b, "\n… %d more reasons", len(f.Reasons)-i)
			break
		}
		b.WriteString("\n" + r.Text)
	}
	return b.String()
}

// num formats a coordinate with one decimal.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

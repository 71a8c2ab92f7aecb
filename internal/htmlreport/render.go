package htmlreport

import (
	"bytes"
	_ "embed"
	"html/template"
	"io"
	"path"
	"sort"
	"strconv"
	"sync"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/humanize"
)

//go:embed page.html.tmpl
var pageText string

// pageTemplate is parsed at its first use, not at every start of the
// program (1 ms, most of which never render a page).
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"human":   human,
		"percent": percent,
		"width":   width,
		"plural":  plural,
		"head":    head,
		"rest":    rest,
		"base":    path.Base,
	}).Parse(pageText))
})

const (
	// dirRows bounds the rows shown of one directory; the rest are
	// counted in an "N more" row.
	dirRows = 200
	// largestRows is how many of the largest files the page lists.
	largestRows = 15
)

// view is what the template reads: the page and what is derived from it.
type view struct {
	*Page
	Map      Treemap
	Sizes    []sizeBar
	Classes  []classRow
	Dirs     []dirGroup
	Largest  []File
	Links    int
	MaxBytes int64 // the largest package's bytes, for the bars
}

type sizeBar struct {
	Size
	Width string // of the largest bar, "62.5%"
}

// classRow counts the files a reason class brought (a file with several
// reasons counts once, under its first).
type classRow struct {
	Class, Label string
	Files        int
	Bytes        int64
}

// dirGroup is a directory's files, in path order.
type dirGroup struct {
	Dir       string
	Files     []File
	Count     int
	Bytes     int64
	More      int
	MoreBytes int64
}

var classLabels = map[string]string{
	"traced":   "traced: the command opened, ran or looked it up",
	"elf":      "ELF dependency: a shared library a program needs",
	"interp":   "interpreter: of an ELF program or a #! script",
	"set":      "set: brought by --with",
	"include":  "included by hand (--include)",
	"complete": "completion (--complete)",
	"link":     "a link on the way, or a link's target",
	"metadata": "package metadata and licences",
	"list":     "read from a file list",
	"other":    "other",
	"":         "no reason recorded",
}

// Render writes the page.
func Render(w io.Writer, p *Page) error {
	v := &view{Page: p, Map: buildTreemap(p.Entries)}
	var maxSize int64
	for _, s := range p.Sizes {
		maxSize = max(maxSize, s.Bytes)
	}
	for _, s := range p.Sizes {
		v.Sizes = append(v.Sizes, sizeBar{Size: s, Width: width(s.Bytes, maxSize)})
	}
	for _, pk := range p.Packages {
		v.MaxBytes = max(v.MaxBytes, pk.Bytes)
	}
	classes := map[string]*classRow{}
	groups := map[string]*dirGroup{}
	var files []File
	for _, f := range p.Entries {
		if f.Kind != "file" {
			v.Links++
		}
		d := path.Dir(f.Path)
		g := groups[d]
		if g == nil {
			g = &dirGroup{Dir: d}
			groups[d] = g
		}
		g.Count++
		g.Bytes += f.Size
		if len(g.Files) < dirRows {
			g.Files = append(g.Files, f)
		} else {
			g.More++
			g.MoreBytes += f.Size
		}
		if f.Kind != "file" {
			continue
		}
		files = append(files, f)
		class := ""
		if len(f.Reasons) > 0 {
			class = f.Reasons[0].Class
		}
		c := classes[class]
		if c == nil {
			c = &classRow{Class: class, Label: classLabels[class]}
			if c.Label == "" {
				c.Label = class
			}
			classes[class] = c
		}
		c.Files++
		c.Bytes += f.Size
	}
	for _, c := range classes {
		v.Classes = append(v.Classes, *c)
	}
	sort.Slice(v.Classes, func(i, j int) bool {
		a, b := v.Classes[i], v.Classes[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Class < b.Class
	})
	for _, g := range groups {
		v.Dirs = append(v.Dirs, *g)
	}
	sort.Slice(v.Dirs, func(i, j int) bool { return v.Dirs[i].Dir < v.Dirs[j].Dir })
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].Size != files[j].Size {
			return files[i].Size > files[j].Size
		}
		return files[i].Path < files[j].Path
	})
	if len(files) > largestRows {
		files = files[:largestRows]
	}
	v.Largest = files
	var buf bytes.Buffer
	if err := pageTemplate().Execute(&buf, v); err != nil {
		return errors.Wrap(err, "rendering the HTML report")
	}
	_, err := w.Write(buf.Bytes())
	return errors.Wrap(err, "writing the HTML report")
}

// shownReasons is how many reasons a row shows; the rest are counted.
const shownReasons = 3

// head is the reasons a row shows.
func head(rs []Reason) []Reason {
	return rs[:min(len(rs), shownReasons)]
}

// more is the reasons a row does not show: how many, and their texts.
type more struct {
	N   int
	Tip string
}

// rest is the reasons past the shown ones (nil when none).
func rest(rs []Reason) *more {
	if len(rs) <= shownReasons {
		return nil
	}
	m := &more{N: len(rs) - shownReasons}
	for i, r := range rs[shownReasons:] {
		if i > 0 {
			m.Tip += "\n"
		}
		m.Tip += r.Text
	}
	return m
}

// human formats a byte count: 18.0 MiB.
func human(n int64) string { return humanize.Bytes(n) }

// percent is part of whole as "41%" (one decimal under 10%).
func percent(part, whole int64) string {
	if whole <= 0 {
		return "–"
	}
	p := float64(part) * 100 / float64(whole)
	if p < 10 && p > 0 {
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// width is part of whole as a CSS width ("62.5%"), at least a sliver
// when part is not 0.
func width(part, whole int64) string {
	if whole <= 0 || part <= 0 {
		return "0%"
	}
	p := float64(part) * 100 / float64(whole)
	if p < 0.5 {
		p = 0.5
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// plural is "1 file" or "3 files".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

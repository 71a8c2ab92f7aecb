package scratchpack

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/scratchpack/scratchpack/collect"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/headless"
	"github.com/scratchpack/scratchpack/internal/humanize"
	"github.com/scratchpack/scratchpack/internal/testenv"
	"github.com/scratchpack/scratchpack/secrets"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// TestReportHTMLGolden renders the page of a real build's report (fortune,
// with the owners its package metadata gives) and compares it with the
// golden page: the same report makes the same bytes.
func TestReportHTMLGolden(t *testing.T) {
	rep, err := ReadReport("testdata/html/fortune.report.json")
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	f, err := os.Open("testdata/html/fortune.owners")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p, pkg, _ := strings.Cut(sc.Text(), "\t")
		owners[p] = pkg
	}
	got := filepath.Join(t.TempDir(), "fortune.html")
	if err := rep.WriteHTML(got, func(p string) string { return owners[p] }); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/html/fortune.html"
	if *updateGolden {
		os.WriteFile(golden, readFile(t, got), 0o644)
	}
	if !bytes.Equal(readFile(t, got), readFile(t, golden)) {
		t.Errorf("the page differs from %s (go test -run TestReportHTMLGolden -update rewrites it; look at it in a browser first)", golden)
	}
}

// pageNumbers is what the test reads from a rendered page's DOM.
type pageNumbers struct {
	Files, Bytes int64
	Packages     []struct {
		Name         string
		Files, Bytes int64
		FilesText    string // the files cell as shown
	}
	// Cut is the cut table's rows: their numbers and what they show
	Cut []struct {
		Name, Kind                                   string
		KeptFiles, TotalFiles, KeptBytes, TotalBytes int64
		FilesText, BytesText                         string
	}
	BytesText    string // the size card as shown
	MapBytes     int64  // the treemap's top-level cells, added up
	MapCells     int
	ClassFiles   int64 // the files of the reason table, added up
	Secrets      int
	UnownedFiles int64
	Dirs         int
	Text         string // the page's text, folded directories too
}

const readNumbers = `(() => {
  const num = (e, a) => Number(e.getAttribute(a) || 0);
  const main = document.getElementById("report");
  const un = document.getElementById("unowned");
  let mapBytes = 0, classFiles = 0;
  document.querySelectorAll("svg.treemap rect[data-depth='1']").forEach(r => mapBytes += num(r, "data-bytes"));
  document.querySelectorAll("#classes tr[data-class]").forEach(r => classFiles += num(r, "data-files"));
  return {
    Files: num(main, "data-files"), Bytes: num(main, "data-bytes"),
    Packages: Array.from(document.querySelectorAll("tr[data-package]")).map(r => ({Name: r.dataset.package, Files: num(r, "data-files"), Bytes: num(r, "data-bytes"), FilesText: r.cells[2].textContent})),
    Cut: Array.from(document.querySelectorAll("#cut tr[data-unit]")).map(r => ({Name: r.dataset.unit, Kind: r.dataset.kind,
      KeptFiles: num(r, "data-kept-files"), TotalFiles: num(r, "data-total-files"), KeptBytes: num(r, "data-kept-bytes"), TotalBytes: num(r, "data-total-bytes"),
      FilesText: r.cells[2].textContent, BytesText: r.cells[3].textContent})),
    BytesText: document.querySelector(".card .n").textContent,
    MapBytes: mapBytes, MapCells: document.querySelectorAll("svg.treemap rect").length,
    ClassFiles: classFiles, Secrets: document.querySelectorAll("#secrets tr.secret").length,
    UnownedFiles: un ? num(un, "data-files") : 0,
    Dirs: document.querySelectorAll("#why details").length,
    Text: document.body.textContent,
  };
})()`

// TestReportHTMLInChromium builds the python example for real with
// --report-html, then opens that page, inspect --html's page of the same
// archive, and the page of the archive without its report in headless
// Chromium: no request leaves the page, nothing is logged as an error or
// warning, the screenshot is not blank, and the numbers on the page are
// the JSON report's.
func TestReportHTMLInChromium(t *testing.T) {
	needTools(t, "strace", "tar", "/usr/bin/python3")
	testenv.Need(t, "chromium")
	dir := t.TempDir()
	// a key among the files, for the secret scan to find
	key := filepath.Join(dir, "deploy.pem")
	os.WriteFile(key, []byte("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----\n"), 0o600)
	archive := filepath.Join(dir, "py.tar.gz")
	buildPage := filepath.Join(dir, "build.html")
	app, err := filepath.Abs("examples/python/app.py")
	if err != nil {
		t.Fatal(err)
	}
	_, res := build(t, BuildOptions{
		Command:    []string{"/usr/bin/python3", app},
		Paths:      PathOptions{Sets: []string{"certs"}, Includes: []string{key}},
		Pack:       PackOptions{Output: archive},
		ReportHTML: buildPage,
		Execs:      []string{"/usr/bin/python3 -c 'import csv'"},
	})
	rep, err := ReadReport(res.Report)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Secrets) == 0 || rep.Packages == nil || len(rep.Packages.Packages) == 0 {
		t.Fatalf("the build should find the key and the packages: %d secrets, packages %v", len(rep.Secrets), rep.Packages)
	}
	if rep.SecretsScan != SecretsWarn {
		t.Errorf("the report's secrets_scan is %q, expected warn (the default)", rep.SecretsScan)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	inspectPage := filepath.Join(dir, "inspect.html")
	if err := WriteInspectHTML(ctx, archive, inspectPage); err != nil {
		t.Fatal(err)
	}
	// the same archive without its report
	bare := filepath.Join(t.TempDir(), "bare.tar.gz")
	if err := os.Link(archive, bare); err != nil {
		t.Fatal(err)
	}
	barePage := filepath.Join(dir, "bare.html")
	if err := WriteInspectHTML(ctx, bare, barePage); err != nil {
		t.Fatal(err)
	}
	// the same report makes the same page
	again := filepath.Join(dir, "again.html")
	if err := WriteInspectHTML(ctx, archive, again); err != nil {
		t.Fatal(err)
	}
	if a, b := readFile(t, inspectPage), readFile(t, again); !bytes.Equal(a, b) {
		t.Errorf("two pages of the same archive and report differ")
	}

	exe, err := headless.Find()
	if err != nil {
		t.Fatal(err)
	}
	b, err := headless.Start(exe, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	}()
	shots := os.Getenv("SCRATCHPACK_SCREENSHOTS") // where to keep the screenshots, to look at them
	open := func(name string) pageNumbers {
		t.Helper()
		p, err := b.NewPage(ctx, 1280, 1000)
		if err != nil {
			t.Fatalf("%v\n%s", err, b.Stderr())
		}
		url := "file://" + name
		if err := p.Navigate(ctx, url); err != nil {
			t.Fatal(err)
		}
		var n pageNumbers
		if err := p.Eval(ctx, readNumbers, &n); err != nil {
			t.Fatal(err)
		}
		shot, err := p.Screenshot(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		checkNotBlank(t, name, shot)
		if shots != "" {
			os.WriteFile(filepath.Join(shots, strings.TrimSuffix(filepath.Base(name), ".html")+".png"), shot, 0o644)
		}
		for _, u := range p.Requests() {
			if u != url {
				t.Errorf("%s: the page sent a request for %s", filepath.Base(name), u)
			}
		}
		for _, m := range p.Problems() {
			t.Errorf("%s: %s", filepath.Base(name), m)
		}
		return n
	}
	for _, name := range []string{buildPage, inspectPage} {
		n := open(name)
		checkNumbers(t, filepath.Base(name), n, rep)
		if n.ClassFiles != int64(rep.Files) {
			t.Errorf("%s: the reasons table counts %d files, the report %d", filepath.Base(name), n.ClassFiles, rep.Files)
		}
		if n.Secrets != len(rep.Secrets) {
			t.Errorf("%s: %d secrets shown, the report has %d", filepath.Base(name), n.Secrets, len(rep.Secrets))
		}
		for _, s := range rep.Secrets {
			if !strings.Contains(n.Text, s.Path) {
				t.Errorf("%s: the finding in %s is not shown", filepath.Base(name), s.Path)
			}
		}
		for _, want := range []string{"needed by /usr/bin/python3", "traced in --exec /usr/bin/python3 -c 'import csv'", "set certs", "--include"} {
			if !strings.Contains(n.Text, want) {
				t.Errorf("%s: no %q reason on the page", filepath.Base(name), want)
			}
		}
	}
	n := open(barePage)
	checkNumbers(t, "bare.html", n, rep)
	if !strings.Contains(n.Text, "No build report") {
		t.Errorf("bare.html: the page should say that the reasons are unknown")
	}
}

// checkNumbers compares a page's totals, packages and treemap with the
// report's.
func checkNumbers(t *testing.T, name string, n pageNumbers, rep *Report) {
	t.Helper()
	if n.Files != int64(rep.Files) || n.Bytes != rep.Bytes {
		t.Errorf("%s: %d files, %d bytes; the report has %d, %d", name, n.Files, n.Bytes, rep.Files, rep.Bytes)
	}
	if n.MapBytes != rep.Bytes {
		t.Errorf("%s: the treemap's cells add up to %d bytes, the report has %d", name, n.MapBytes, rep.Bytes)
	}
	if n.MapCells < 20 || n.Dirs < 10 {
		t.Errorf("%s: %d treemap cells and %d directories: too few for this image", name, n.MapCells, n.Dirs)
	}
	var want []string
	for _, u := range rep.Packages.Packages {
		want = append(want, fmt.Sprintf("%s %d %d", u.Name, u.Files, u.Bytes))
	}
	var got []string
	for _, p := range n.Packages {
		got = append(got, fmt.Sprintf("%s %d %d", p.Name, p.Files, p.Bytes))
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: packages on the page:\n%s\nin the report:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// what the page shows, not only its data attributes
	if n.BytesText != humanize.Bytes(rep.Bytes) {
		t.Errorf("%s: the size card shows %q, the report has %d bytes", name, n.BytesText, rep.Bytes)
	}
	for _, p := range n.Packages {
		if p.FilesText != fmt.Sprint(p.Files) {
			t.Errorf("%s: %s shows %q files kept, its row says %d", name, p.Name, p.FilesText, p.Files)
		}
	}
	if name == "bare.html" {
		return // no report, no cut table
	}
	if len(rep.Cut) == 0 || len(n.Cut) != len(rep.Cut) {
		t.Fatalf("%s: %d rows in the cut table, the report has %d", name, len(n.Cut), len(rep.Cut))
	}
	for i, u := range rep.Cut { // in the report's order: most cut first
		c := n.Cut[i]
		if c.Name != u.Name || c.Kind != u.Kind || c.KeptFiles != int64(u.KeptFiles) || c.TotalFiles != int64(u.TotalFiles) || c.KeptBytes != u.KeptBytes || c.TotalBytes != u.TotalBytes ||
			c.FilesText != fmt.Sprintf("%d of %d", u.KeptFiles, u.TotalFiles) || c.BytesText != humanize.Bytes(u.KeptBytes)+" of "+humanize.Bytes(u.TotalBytes) {
			t.Errorf("%s: cut row %d is %+v, the report has %+v", name, i, c, u)
		}
	}
}

// checkNotBlank decodes a screenshot and wants a picture in it: many
// colours, and a good part of it not white.
func checkNotBlank(t *testing.T, name string, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("%s: the screenshot is not a PNG: %v", name, err)
	}
	colours := map[[3]uint32]bool{}
	var white, all int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
			all++
			if r>>8 > 245 && g>>8 > 245 && b>>8 > 245 {
				white++
			}
		}
	}
	if len(colours) < 50 || white*10 > all*8 {
		t.Errorf("%s: the screenshot looks blank: %d colours, %d of %d pixels white", name, len(colours), white, all)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestHTMLCut: the cut table reaches the page, one row a unit with its
// numbers, and the OS packages taken whole join the sizes chart.
func TestHTMLCut(t *testing.T) {
	rep, err := ReadReport("testdata/html/fortune.report.json")
	if err != nil {
		t.Fatal(err)
	}
	p := rep.htmlPage(nil)
	htmlCut(p, []Unit{
		{Kind: "deb", Name: "fortune-mod", KeptFiles: 1, TotalFiles: 9, KeptBytes: 30000, TotalBytes: 120000},
		{Kind: "python", Name: "jinja2", KeptFiles: 9, TotalFiles: 25, KeptBytes: 1000, TotalBytes: 5000, UnitName: "modules", KeptUnits: 9, TotalUnits: 25, AddedFiles: 2, AddedBytes: 700},
		{Kind: "deb", Name: "libc6", KeptFiles: 4, TotalFiles: 300, KeptBytes: 3000000, TotalBytes: 13000000},
	})
	if p.Sizes[0].Label != "its packages, whole" || p.Sizes[0].Bytes != 13120000 || p.Sizes[0].Files != 309 || !p.Sizes[1].Result {
		t.Errorf("sizes: %+v", p.Sizes)
	}
	path := filepath.Join(t.TempDir(), "cut.html")
	if err := writePage(path, p); err != nil {
		t.Fatal(err)
	}
	page := string(readFile(t, path))
	for _, want := range []string{
		`<tr data-unit="jinja2" data-kind="python" data-kept-files="9" data-total-files="25" data-kept-bytes="1000" data-total-bytes="5000">`,
		`9 of 25 modules`,
		`2 files, 700 B`,
		`<tr data-unit="libc6" data-kind="deb" data-kept-files="4" data-total-files="300"`,
		`its packages, whole`,
		`in part <span class="soft">(1 of 9 files, 26% of the bytes)</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// TestInspectHTMLStaleReport: a report beside an archive it does not
// describe is named on the page, with both counts.
func TestInspectHTMLStaleReport(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "hello"), []byte("hello\n"), 0o644)
	lst := filepath.Join(t.TempDir(), "app.lst")
	os.WriteFile(lst, []byte("/hello\n"), 0o644)
	ctx := context.Background()
	l, err := List(ctx, ListOptions{Root: root, Lists: []string{lst}})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "app.tar.gz")
	if _, err := Pack(ctx, l, PackOptions{Output: archive}); err != nil {
		t.Fatal(err)
	}
	// fortune's report, beside an archive of one file
	if err := os.WriteFile(ReportPath(archive), readFile(t, "testdata/html/fortune.report.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "page.html")
	if err := WriteInspectHTML(ctx, archive, page); err != nil {
		t.Fatal(err)
	}
	if want := "does not match the archive: it counts 41 files of 4597615 bytes, the archive holds 1 files of 6 bytes"; !strings.Contains(string(readFile(t, page)), want) {
		t.Errorf("the page does not say %q", want)
	}
}

// TestHTMLSecretsScan: the page says the secret scan was off when it
// was, that it is not known for a report or archive that does not say,
// and that excluded findings are not in the image; never "no secrets
// found" without a scan.
func TestHTMLSecretsScan(t *testing.T) {
	key := secrets.Finding{Path: "/app/deploy.pem", Line: 1, Kind: "private-key", Detail: "RSA"}
	for _, c := range []struct {
		mode     SecretsMode
		findings []secrets.Finding
		want     string
	}{
		{SecretsOff, nil, "The secret scan was off (--secrets off)"},
		{"", nil, "The report does not say whether the secret scan ran"},
		{"", []secrets.Finding{key}, "the image carries what looks like a secret"},
		{SecretsWarn, nil, "No secrets found in the image"},
		{SecretsWarn, []secrets.Finding{key}, "the image carries what looks like a secret"},
		{SecretsExclude, []secrets.Finding{key}, "the files that hold them were left out of the image"},
	} {
		rep, err := ReadReport("testdata/html/fortune.report.json")
		if err != nil {
			t.Fatal(err)
		}
		rep.SecretsScan, rep.Secrets = c.mode, c.findings
		name := filepath.Join(t.TempDir(), "page.html")
		if err := rep.WriteHTML(name, nil); err != nil {
			t.Fatal(err)
		}
		page := string(readFile(t, name))
		if !strings.Contains(page, c.want) {
			t.Errorf("--secrets %q with %d findings: the page does not say %q", c.mode, len(c.findings), c.want)
		}
		if scanned := c.mode == SecretsWarn || len(c.findings) > 0; !scanned && strings.Contains(page, "No secrets found") {
			t.Errorf("--secrets %q: the page says no secrets were found", c.mode)
		}
	}
}

// TestHTMLUnreadable: the page warns at the top about the calls whose
// path the collector could not read, as the build did (the files they
// named may be missing), with the fix for that collector; a report
// without any says nothing of it.
func TestHTMLUnreadable(t *testing.T) {
	for _, c := range []struct {
		collector string
		unread    []collect.Unreadable
		want, not []string
	}{
		{"strace", nil, nil, []string{"could not be read"}},
		{"strace", []collect.Unreadable{{Pid: 42, Command: "/usr/sbin/apache2", UID: 33, Count: 67, Calls: []string{"openat", "stat"}, Where: "the trace log, line 9"}},
			[]string{`<p class="warning">pid 42 (/usr/sbin/apache2, uid 33): 67 calls (openat, stat) whose path could not be read`, "--collector ptrace"}, nil},
		{"ptrace", []collect.Unreadable{{Pid: 7, Command: "worker", UID: 1000, Count: 1, Calls: []string{"openat"}, Where: "pid 7"}},
			[]string{`<p class="warning">pid 7 (worker, uid 1000): 1 call (openat) whose path could not be read;`, "--cap-add SYS_PTRACE"}, []string{"--collector ptrace"}},
	} {
		rep, err := ReadReport("testdata/html/fortune.report.json")
		if err != nil {
			t.Fatal(err)
		}
		rep.Collector, rep.Unreadable = c.collector, c.unread
		name := filepath.Join(t.TempDir(), "page.html")
		if err := rep.WriteHTML(name, nil); err != nil {
			t.Fatal(err)
		}
		page := string(readFile(t, name))
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s, %d processes: the page lacks %q", c.collector, len(c.unread), w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(page, w) {
				t.Errorf("%s, %d processes: the page says %q", c.collector, len(c.unread), w)
			}
		}
	}
}

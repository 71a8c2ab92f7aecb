package headless

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scratchpack/scratchpack/internal/testenv"
)

// TestSeesWhatAPageDoes: the checks the HTML report's test relies on can
// fail: a page that fetches an image (from a closed port on 127.0.0.1),
// logs an error and throws shows each of them.
func TestSeesWhatAPageDoes(t *testing.T) {
	testenv.Need(t, "chromium")
	exe, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "bad.html")
	os.WriteFile(page, []byte(`<!DOCTYPE html><html><body><h1>bad page</h1>
<img src="http://127.0.0.1:26999/pixel.png" alt="">
<script>console.error("boom"); document.title = String(6 * 7); null.x;</script>
</body></html>`), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := Start(exe, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.NewPage(ctx, 800, 600)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.Stderr())
	}
	if err := p.Navigate(ctx, "file://"+page); err != nil {
		t.Fatal(err)
	}
	var title string
	if err := p.Eval(ctx, "document.title", &title); err != nil || title != "42" {
		t.Errorf("document.title: %q %v", title, err)
	}
	if reqs := strings.Join(p.Requests(), " "); !strings.Contains(reqs, "http://127.0.0.1:26999/pixel.png") {
		t.Errorf("the image request was not seen: %s", reqs)
	}
	problems := strings.Join(p.Problems(), "\n")
	for _, want := range []string{`console.error: {"type":"string","value":"boom"}`, "exception:", "null"} {
		if !strings.Contains(problems, want) {
			t.Errorf("no %q among the problems:\n%s", want, problems)
		}
	}
	// with the HTML report's Content-Security-Policy, the fetch is
	// refused before it is sent, and the refusal is a problem
	csp := filepath.Join(t.TempDir(), "csp.html")
	os.WriteFile(csp, []byte(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"></head>
<body><img src="http://127.0.0.1:26999/pixel.png" alt=""></body></html>`), 0o644)
	p2, err := b.NewPage(ctx, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Navigate(ctx, "file://"+csp); err != nil {
		t.Fatal(err)
	}
	if problems := strings.Join(p2.Problems(), "\n"); !strings.Contains(problems, "Content Security Policy") {
		t.Errorf("the refused fetch is not among the problems: %q (requests %q)", problems, p2.Requests())
	}
	shot, err := p.Screenshot(ctx, false)
	if err != nil || len(shot) < 8 || string(shot[1:4]) != "PNG" {
		t.Errorf("screenshot: %d bytes, %v", len(shot), err)
	}
}

package scratchpack

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/sandbox"
	"github.com/scratchpack/scratchpack/tarball"
)

// completeCase is a program traced with one input whose image is then
// run with another that takes a path the trace did not.
type completeCase struct {
	name, kind string
	need       []string          // programs and files it needs
	files      map[string]string // written into the case's directory
	env        []string          // added to cleanEnv, for both runs
	traced     []string          // the command of the trace; DIR is the case's directory
	other      []string          // the command of the second run
	// lacks is a path the default image lacks on the second run.
	lacks string
	// setup prepares the case's directory; check looks at the default
	// build (its cut table).
	setup func(t *testing.T, dir string)
	check func(t *testing.T, dir string, r *BuildResult)
}

var completeCases = []completeCase{
	{
		name: "python stdlib email", kind: "python",
		need: []string{"/usr/bin/python3"},
		files: map[string]string{"mail.py": `import sys, email
m = email.message_from_string("Subject: hi\n\nbody\n")
print(m["Subject"])
if sys.argv[1:] == ["mime"]:
    from email.mime.text import MIMEText  # not on the traced path
    print(MIMEText("x")["Content-Type"])
`},
		traced: []string{"/usr/bin/python3", "DIR/mail.py"},
		other:  []string{"/usr/bin/python3", "DIR/mail.py", "mime"},
		lacks:  "/usr/lib/python3.11/email/mime",
	},
	{
		name: "python dist-packages jinja2", kind: "python",
		need: []string{"/usr/bin/python3", "/usr/lib/python3/dist-packages/jinja2/__init__.py"},
		files: map[string]string{"page.py": `import sys, jinja2
env = jinja2.Environment()
if sys.argv[1:] == ["sandbox"]:  # for untrusted templates
    from jinja2.sandbox import SandboxedEnvironment
    env = SandboxedEnvironment()
print(env.from_string("{{ x }}").render(x=1))
`},
		traced: []string{"/usr/bin/python3", "DIR/page.py"},
		other:  []string{"/usr/bin/python3", "DIR/page.py", "sandbox"},
		lacks:  "/usr/lib/python3/dist-packages/jinja2/sandbox.py",
		check: func(t *testing.T, _ string, r *BuildResult) {
			checkDpkgRow(t, r, "python3-jinja2")
			// jinja2's modules: the .py files of its directory
			out, _ := exec.Command("dpkg", "-L", "python3-jinja2").Output()
			mods := 0
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "/dist-packages/jinja2/") && strings.HasSuffix(l, ".py") {
					mods++
				}
			}
			for _, u := range r.Pack.Cut {
				if u.Kind == "python" && u.Name == "jinja2" && (u.TotalUnits != mods || u.KeptUnits == 0 || u.KeptUnits >= mods) {
					t.Errorf("jinja2 (python): %d of %d modules, expected a part of %d", u.KeptUnits, u.TotalUnits, mods)
				}
			}
			// the report's table reaches the HTML page
			rep, err := ReadReport(r.Report)
			if err != nil {
				t.Fatal(err)
			}
			page := filepath.Join(t.TempDir(), "report.html")
			if err := rep.WriteHTML(page, nil); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(page)
			for _, u := range rep.Cut {
				if u.Name == "jinja2" || u.Name == "python3-jinja2" {
					row := fmt.Sprintf(`<tr data-unit="%s" data-kind="%s" data-kept-files="%d" data-total-files="%d" data-kept-bytes="%d" data-total-bytes="%d">`,
						u.Name, u.Kind, u.KeptFiles, u.TotalFiles, u.KeptBytes, u.TotalBytes)
					if !strings.Contains(string(data), row) {
						t.Errorf("the HTML page lacks %s", row)
					}
				}
			}
		},
	},
	{
		name: "python site-packages pip", kind: "python",
		need:   []string{"/usr/bin/python3"},
		env:    []string{"PYTHONPATH=DIR/site-packages"},
		setup:  pipInstall,
		files:  map[string]string{"fmt.py": "import importlib, sys\nprint(importlib.import_module('tinyfmt.' + sys.argv[1]).NAME)\n"},
		traced: []string{"/usr/bin/python3", "DIR/fmt.py", "a"},
		other:  []string{"/usr/bin/python3", "DIR/fmt.py", "b"},
		lacks:  "DIR/site-packages/tinyfmt/b.py",
		check:  checkRecordRow,
	},
	{
		name: "node iconv-lite", kind: "node",
		need:  []string{"/usr/bin/node", "/usr/share/nodejs/iconv-lite/package.json"},
		env:   []string{"NODE_PATH=/usr/share/nodejs"},
		files: map[string]string{"decode.js": "const iconv = require('iconv-lite');\nprocess.stdout.write(iconv.decode(Buffer.from('hi\\n'), process.argv[2]));\n"},
		// iconv-lite loads its code tables when a codec first needs them
		traced: []string{"/usr/bin/node", "DIR/decode.js", "utf8"},
		other:  []string{"/usr/bin/node", "DIR/decode.js", "shiftjis"},
		lacks:  "/usr/share/nodejs/iconv-lite/encodings/tables/shiftjis.json",
	},
	{
		name: "ruby digest", kind: "ruby",
		need: []string{"/usr/bin/ruby"},
		// Digest loads digest/NAME on the first use of Digest::NAME
		files:  map[string]string{"sum.rb": "require 'digest'\nputs Digest.const_get(ARGV[0]).hexdigest('x')\n"},
		traced: []string{"/usr/bin/ruby", "DIR/sum.rb", "MD5"},
		other:  []string{"/usr/bin/ruby", "DIR/sum.rb", "SHA256"},
		lacks:  "/usr/lib/ruby/3.1.0/digest/sha2.rb",
	},
	{
		name: "perl Encode", kind: "perl",
		need: []string{"/usr/bin/perl"},
		// Encode loads Encode::JP when a Japanese encoding is first asked for
		files:  map[string]string{"enc.pl": "use Encode;\nprint encode($ARGV[0], \"hi\\n\");\n"},
		traced: []string{"/usr/bin/perl", "DIR/enc.pl", "iso-8859-1"},
		other:  []string{"/usr/bin/perl", "DIR/enc.pl", "shiftjis"},
		lacks:  "/usr/lib/x86_64-linux-gnu/perl/5.36.0/Encode/JP.pm",
	},
	{
		name: "os iconv gconv", kind: "os",
		need:  []string{"/usr/bin/iconv"},
		files: map[string]string{"in.txt": "hi\n"},
		// glibc loads the gconv module of an encoding by its name
		traced: []string{"/usr/bin/iconv", "-f", "UTF-8", "-t", "UTF-16", "DIR/in.txt"},
		other:  []string{"/usr/bin/iconv", "-f", "UTF-8", "-t", "IBM850", "DIR/in.txt"},
		lacks:  "/usr/lib/x86_64-linux-gnu/gconv/IBM850.so",
	},
}

// TestCompleteOtherPath: for each kind, the image of a traced run fails
// a run that takes another path, and the image built with --complete
// KIND passes it. Logs the sizes of both images.
func TestCompleteOtherPath(t *testing.T) {
	needTools(t, "strace")
	for _, c := range completeCases {
		t.Run(c.kind+"/"+c.name, func(t *testing.T) {
			testenv := append([]string{}, cleanEnv...)
			for _, n := range c.need {
				if _, err := os.Stat(n); err != nil {
					needTools(t, n) // skips, or fails under CI, with the reason
				}
			}
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(t, dir)
			}
			for name, content := range c.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			subst := func(argv []string) []string {
				out := make([]string, len(argv))
				for i, a := range argv {
					out[i] = strings.ReplaceAll(a, "DIR", dir)
				}
				return out
			}
			env := append(testenv, subst(c.env)...)
			lacks := strings.ReplaceAll(c.lacks, "DIR", dir)
			if out, err := hostRun(env, subst(c.other)); err != nil {
				t.Fatalf("the second input fails on the host: %v\n%s", err, out)
			}
			var sizes [2]string
			var traced *filelist.List // the image without --complete
			for i, complete := range []bool{false, true} {
				o := BuildOptions{Command: subst(c.traced), Env: env, Dir: dir}
				o.Pack.Options = tarball.Options{Compression: tarball.None} // the test reads it once
				if complete {
					o.Paths.Complete = []string{c.kind}
				}
				r := buildOnly(t, o)
				out, err := runImage(t, r.Pack.Output, env, subst(c.other))
				if !complete && c.check != nil {
					c.check(t, dir, r)
				}
				files, _, _, _, bytes := r.List.Totals()
				sizes[i] = fmt.Sprintf("%d files, %.1f MiB", files, float64(bytes)/(1<<20))
				if !complete {
					if err == nil {
						t.Fatalf("the image of the traced run passes the second run: it should lack %s\n%s", lacks, out)
					}
					if r.List.Lookup(lacks) != nil {
						t.Errorf("the image of the traced run holds %s", lacks)
					}
					checkCutRow(t, r, c)
					traced = r.List
					continue
				}
				if err != nil {
					t.Fatalf("--complete %s: the second run still fails: %v\n%s", c.kind, err, out)
				}
				e := r.List.Lookup(lacks)
				if e == nil {
					t.Fatalf("--complete %s: %s is not in the list", c.kind, lacks)
				}
				why := e.Reasons[0]
				if why.Source != filelist.CompleteSource(c.kind) || !strings.Contains(why.Detail, ", the unit of /") {
					t.Errorf("%s: reason %+v, expected complete:%s naming the file that brought its unit", lacks, why, c.kind)
				}
				if r.Pack.Completed.Files == 0 {
					t.Errorf("Completed: %+v", r.Pack.Completed)
				}
				checkCompletedOnce(t, r.List, traced)
				rep, err := ReadReport(r.Report)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Completed == nil || rep.Completed.Files != r.Pack.Completed.Files || len(rep.Cut) == 0 {
					t.Errorf("report: completed %+v, %d cut rows", rep.Completed, len(rep.Cut))
				}
			}
			t.Logf("image size: without --complete %s: %s; with: %s", c.kind, sizes[0], sizes[1])
		})
	}
}

// checkCompletedOnce: every unit completion added was brought by a file
// the image without --complete (traced) keeps, and none by a file under
// /etc. For os: completing libc-bin must not bring, through its scripts'
// interpreters, bash and perl-base whole; /etc/locale.alias must not
// bring the 15 MiB of locales.
func checkCompletedOnce(t *testing.T, l, traced *filelist.List) {
	t.Helper()
	for _, e := range l.Entries {
		for _, r := range e.Reasons {
			if _, ok := r.Source.Complete(); !ok {
				continue
			}
			_, by, ok := strings.Cut(r.Detail, ", the unit of ")
			if !ok {
				continue // --complete-package
			}
			if strings.HasPrefix(by, "/etc/") && r.Source == filelist.CompleteSource("os") {
				t.Errorf("%s: %s %s: a configuration file brought its package", e.Path, r.Source, r.Detail)
			}
			if traced.Lookup(by) == nil {
				t.Errorf("%s: %s %s: brought by %s, which the traced image lacks (completion added it)", e.Path, r.Source, r.Detail, by)
			}
		}
	}
}

// checkCutRow: the unit of the path the default image lacks is a row
// kept in part.
func checkCutRow(t *testing.T, r *BuildResult, c completeCase) {
	t.Helper()
	for _, u := range r.Pack.Cut {
		if (u.Kind == c.kind || (c.kind == "os" && u.Kind == "deb")) && u.Partial() && u.KeptFiles > 0 {
			return
		}
	}
	t.Errorf("no %s unit kept in part in the cut table: %+v", c.kind, r.Pack.Cut)
}

func hostRun(env, argv []string) ([]byte, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	return cmd.CombinedOutput()
}

// buildOnly runs Build (its archive in a temporary directory).
func buildOnly(t *testing.T, o BuildOptions) *BuildResult {
	t.Helper()
	o.Pack.Output = filepath.Join(t.TempDir(), "rootfs.tar")
	var warns []string
	o.Warn = func(err error) { warns = append(warns, err.Error()) }
	o.Trace.Stdout = io.Discard
	r, err := Build(context.Background(), o)
	if err != nil {
		t.Fatalf("Build: %v\nwarnings: %v", err, warns)
	}
	return r
}

// runImage runs argv in the archive's rootfs as a container would: the
// archive extracted into an empty directory, chrooted, with /proc and
// the standard /dev nodes (internal/sandbox), env only.
func runImage(t *testing.T, archive string, env, argv []string) ([]byte, error) {
	t.Helper()
	root := t.TempDir()
	ar, err := tarball.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	err = tarball.Extract(context.Background(), ar, root, tarball.ExtractOptions{Owners: true})
	ar.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	err = sandbox.WithProc(root, func() error {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env, cmd.Dir = env, "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		var err error
		out, err = cmd.CombinedOutput()
		return err
	})
	return out, err
}

// pipInstall makes a wheel of a package with four modules (tinyfmt:
// __init__, a, b, c) and pip-installs it into DIR/site-packages: pip
// writes the RECORD, with the bytecode it compiles.
func pipInstall(t *testing.T, dir string) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-m", "pip", "--version").Run(); err != nil {
		needTools(t, "pip for /usr/bin/python3 (python3-pip)")
	}
	files := map[string]string{
		"tinyfmt-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinyfmt\nVersion: 1.0\n",
		"tinyfmt-1.0.dist-info/WHEEL":    "Wheel-Version: 1.0\nGenerator: scratchpack-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	for _, m := range []string{"__init__", "a", "b", "c"} {
		files["tinyfmt/"+m+".py"] = fmt.Sprintf("NAME = %q\n", m)
	}
	whl := filepath.Join(dir, "tinyfmt-1.0-py3-none-any.whl")
	f, err := os.Create(whl)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	var record strings.Builder
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sum := sha256.Sum256([]byte(files[n]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", n, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[n]))
		w, err := z.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	record.WriteString("tinyfmt-1.0.dist-info/RECORD,,\n")
	w, err := z.Create("tinyfmt-1.0.dist-info/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, record.String())
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command("/usr/bin/python3", "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-cache-dir",
		"--disable-pip-version-check", "--root-user-action=ignore", "--target", filepath.Join(dir, "site-packages"), whl)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip install: %v\n%s", err, out)
	}
}

// checkRecordRow: the row of tinyfmt counts the files and bytes its
// RECORD names, and its modules.
func checkRecordRow(t *testing.T, dir string, r *BuildResult) {
	t.Helper()
	site := filepath.Join(dir, "site-packages")
	data, err := os.ReadFile(filepath.Join(site, "tinyfmt-1.0.dist-info/RECORD"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var want Unit
	want.Kind, want.Name, want.UnitName, want.KeptUnits, want.TotalUnits = "python", "tinyfmt", "modules", 2, 4
	for _, rec := range recs {
		p := filepath.Join(site, rec[0])
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatalf("RECORD names %s: %v", rec[0], err)
		}
		want.TotalFiles++
		want.TotalBytes += info.Size()
		if e := r.List.Lookup(p); e != nil && e.Kind == filelist.File {
			want.KeptFiles++
			want.KeptBytes += info.Size()
		}
	}
	if want.KeptFiles == 0 || want.KeptFiles == want.TotalFiles {
		t.Fatalf("the trace kept %d of the %d files of the RECORD: expected a part", want.KeptFiles, want.TotalFiles)
	}
	for _, u := range r.Pack.Cut {
		if u.Kind == "python" && u.Name == "tinyfmt" {
			if u != want {
				t.Errorf("the row of tinyfmt:\n got %+v\nwant %+v (from the RECORD)", u, want)
			}
			return
		}
	}
	t.Errorf("no row for tinyfmt in %+v", r.Pack.Cut)
}

// checkDpkgRow: the row of a Debian package counts the regular files
// and bytes `dpkg -L` lists, and those of them the list keeps.
func checkDpkgRow(t *testing.T, r *BuildResult, pkg string) {
	t.Helper()
	out, err := exec.Command("dpkg", "-L", pkg).Output()
	if err != nil {
		t.Fatalf("dpkg -L %s: %v", pkg, err)
	}
	want := Unit{Kind: "deb", Name: pkg}
	for _, p := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		info, err := os.Lstat(p)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		want.TotalFiles++
		want.TotalBytes += info.Size()
		if e := r.List.Lookup(p); e != nil && (e.Kind == filelist.File || e.Kind == filelist.Hardlink) {
			want.KeptFiles++
			want.KeptBytes += info.Size()
		}
	}
	for _, u := range r.Pack.Cut {
		if u.Kind == "deb" && u.Name == pkg {
			if u != want {
				t.Errorf("the row of %s:\n got %+v\nwant %+v (from dpkg -L)", pkg, u, want)
			}
			t.Logf("%s", fmt.Sprintf("%s (deb) %d of %d files, %d of %d KiB", pkg, u.KeptFiles, u.TotalFiles, u.KeptBytes/1024, u.TotalBytes/1024))
			return
		}
	}
	t.Errorf("no row for %s in %+v", pkg, r.Pack.Cut)
}

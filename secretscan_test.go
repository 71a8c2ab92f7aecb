package scratchpack

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/rootpath"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/secrets"
)

// TestBuildSecrets is the app: it reads its .env and its TLS
// key; build warns about both (file, line, kind, never the secret),
// --secrets fail writes nothing, --secrets exclude leaves both files
// (and the other names of the key) out.
func TestBuildSecrets(t *testing.T) {
	needTools(t, "strace", "tar", "openssl")
	app := filepath.Join(t.TempDir(), "srv", "app")
	os.MkdirAll(app, 0o755)
	apiKey := "k3y-" + strings.Repeat("Zq9", 8)
	os.WriteFile(filepath.Join(app, ".env"), []byte("PORT=8080\nAPI_KEY="+apiKey+"\n"), 0o600)
	key, err := exec.Command("openssl", "genpkey", "-algorithm", "ed25519").Output()
	if err != nil {
		t.Fatalf("openssl genpkey: %v", err)
	}
	os.WriteFile(filepath.Join(app, "server.key"), key, 0o600)
	if err := os.Link(filepath.Join(app, "server.key"), filepath.Join(app, "server.key.bak")); err != nil {
		t.Fatal(err)
	}
	body := strings.Split(string(key), "\n")[1]
	os.WriteFile(filepath.Join(app, "README"), []byte("nothing to hide\n"), 0o644)

	run := func(mode SecretsMode) (*BuildResult, []string, string, error) {
		out := t.TempDir()
		var warns []string
		o := BuildOptions{
			Command: []string{"cat", ".env", "server.key", "server.key.bak", "README"},
			Dir:     app, Env: cleanEnv,
			Warn: func(err error) { warns = append(warns, err.Error()) },
		}
		o.Trace.Stdout = io.Discard
		o.Pack.Output = filepath.Join(out, "rootfs.tar.gz")
		o.Pack.Secrets = mode
		r, err := Build(context.Background(), o)
		return r, warns, o.Pack.Output, err
	}
	noSecret := func(t *testing.T, warns []string) {
		for _, w := range warns {
			if strings.Contains(w, apiKey) || strings.Contains(w, body) {
				t.Errorf("a warning shows the secret: %s", w)
			}
		}
	}

	t.Run("warn", func(t *testing.T) {
		r, warns, _, err := run("")
		if err != nil {
			t.Fatal(err)
		}
		noSecret(t, warns)
		for _, want := range []string{
			app + "/.env:2: a .env credential (API_KEY) is packed (--secrets exclude leaves the file out, --secrets fail refuses to pack it)",
			app + "/server.key:1: a PEM private key (PKCS#8) is packed",
		} {
			if !containsPrefix(warns, want) {
				t.Errorf("no warning %q in:\n%s", want, strings.Join(warns, "\n"))
			}
		}
		if len(r.Pack.Secrets) != 2 {
			t.Errorf("findings %v, want the .env line and the key (once, not once per name)", r.Pack.Secrets)
		}
		rep, err := ReadReport(r.Report)
		if err != nil || len(rep.Secrets) != 2 {
			t.Errorf("the report's secrets: %v %v", rep, err)
		}
	})
	t.Run("fail", func(t *testing.T) {
		_, warns, out, err := run(SecretsFail)
		var se *SecretsError
		if !errors.As(err, &se) || len(se.Findings) != 2 || !strings.Contains(err.Error(), "2 secrets in 2 files") {
			t.Fatalf("err = %v, want a *SecretsError with 2 findings", err)
		}
		noSecret(t, append(warns, err.Error()))
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("--secrets fail wrote %s", out)
		}
	})
	t.Run("exclude", func(t *testing.T) {
		r, warns, out, err := run(SecretsExclude)
		if err != nil {
			t.Fatal(err)
		}
		noSecret(t, warns)
		if !containsPrefix(warns, "left out "+app+"/server.key: line 1 holds a PEM private key (PKCS#8) (--secrets exclude)") {
			t.Errorf("warnings:\n%s", strings.Join(warns, "\n"))
		}
		names, err := exec.Command("tar", "-tzf", out).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{".env", "server.key", "server.key.bak"} {
			if strings.Contains(string(names), strings.TrimPrefix(app, "/")+"/"+n+"\n") {
				t.Errorf("%s is in the archive", n)
			}
		}
		if !strings.Contains(string(names), "/README\n") || r.List.Lookup(app+"/README") == nil {
			t.Errorf("README was left out too:\n%s", names)
		}
	})
}

// TestSecretsPackagedFiles: a file a Debian package installed, as it
// is, holds no secret of the builder's (libgnutls's self-test keys);
// the same bytes elsewhere do.
func TestSecretsPackagedFiles(t *testing.T) {
	matches, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/libgnutls.so.30.*")
	if len(matches) == 0 {
		t.Skip("libgnutls is not installed: no packaged file with keys in it")
	}
	lib := matches[0]
	if fi, err := os.Lstat(lib); err != nil || !fi.Mode().IsRegular() {
		t.Skipf("%s is not a regular file", lib)
	}
	f, _ := os.Open(lib)
	var s secrets.Scanner
	found, _ := s.Scan(f, lib)
	f.Close()
	if len(found) == 0 {
		t.Skipf("%s holds no key in this version", lib)
	}
	copyOf := filepath.Join(t.TempDir(), "libcopy.so")
	data, _ := os.ReadFile(lib)
	os.WriteFile(copyOf, data, 0o644)
	l := &filelist.List{Root: "/", Entries: []*filelist.Entry{
		{Path: lib, Kind: filelist.File}, {Path: copyOf, Kind: filelist.File},
	}}
	got, err := scanSecrets(context.Background(), l, SecretsWarn, func(error) {}, packagedIn(t, "/"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(found) || got[0].Path != copyOf {
		t.Errorf("findings %v: want the %d keys of the copy only", got, len(found))
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestSecretsPackagedDatabase: whether a file is a package's, unmodified,
// is the package database's answer (pkgmeta): a diverted file is its
// package's, a distroless status.d root counts, and a database reached
// by a link out of the root is not the root's.
func TestSecretsPackagedDatabase(t *testing.T) {
	token := "ghp_" + strings.Repeat("aB3", 12)
	text := "TOKEN=" + token + "\n"
	sum := fmt.Sprintf("%x", md5.Sum([]byte(text)))
	write := func(root, p, data string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stanza := func(name string) string {
		return "Package: " + name + "\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n"
	}
	// dpkg's status and info, with a diversion of /usr/lib/app/div.txt by b
	dpkg := t.TempDir()
	write(dpkg, "var/lib/dpkg/status", stanza("a")+"\n"+stanza("b"))
	write(dpkg, "var/lib/dpkg/info/a.list", "/usr/lib/app/token.txt\n/usr/lib/app/changed.txt\n/usr/lib/app/div.txt\n")
	write(dpkg, "var/lib/dpkg/info/a.md5sums", sum+"  usr/lib/app/token.txt\n"+sum+"  usr/lib/app/changed.txt\n"+sum+"  usr/lib/app/div.txt\n")
	write(dpkg, "var/lib/dpkg/info/b.list", "/usr/lib/app/div.txt\n")
	write(dpkg, "var/lib/dpkg/diversions", "/usr/lib/app/div.txt\n/usr/lib/app/div.txt.distrib\nb\n")
	write(dpkg, "usr/lib/app/token.txt", text)
	write(dpkg, "usr/lib/app/changed.txt", text+"changed\n")
	write(dpkg, "usr/lib/app/div.txt.distrib", text) // a's file, put aside
	// a distroless root: status.d
	distroless := t.TempDir()
	write(distroless, "var/lib/dpkg/status.d/a", stanza("a"))
	write(distroless, "var/lib/dpkg/status.d/a.md5sums", sum+"  usr/lib/app/token.txt\n")
	write(distroless, "usr/lib/app/token.txt", text)
	// a root whose /var/lib/dpkg is a link to another root's database
	linked := t.TempDir()
	os.MkdirAll(filepath.Join(linked, "var/lib"), 0o755)
	if err := os.Symlink(filepath.Join(dpkg, "var/lib/dpkg"), filepath.Join(linked, "var/lib/dpkg")); err != nil {
		t.Fatal(err)
	}
	write(linked, "usr/lib/app/token.txt", text)

	for _, tt := range []struct {
		name, root string
		files      []string
		want       []string // the files with findings
	}{
		{"dpkg", dpkg, []string{"/usr/lib/app/token.txt", "/usr/lib/app/changed.txt", "/usr/lib/app/div.txt.distrib"}, []string{"/usr/lib/app/changed.txt"}},
		{"status.d", distroless, []string{"/usr/lib/app/token.txt"}, nil},
		{"link out of the root", linked, []string{"/usr/lib/app/token.txt"}, []string{"/usr/lib/app/token.txt"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &filelist.List{Root: tt.root}
			for _, p := range tt.files {
				l.Entries = append(l.Entries, &filelist.Entry{Path: p, Kind: filelist.File})
			}
			found, err := scanSecrets(context.Background(), l, SecretsWarn, func(error) {}, packagedIn(t, tt.root))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range found {
				got = append(got, f.Path)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("findings in %q, want %q", got, tt.want)
			}
		})
	}
}

// packagedIn is what Pack asks about the files of root's packages.
func packagedIn(t *testing.T, root string) *secrets.Packaged {
	t.Helper()
	res, err := rootpath.New(root)
	if err != nil {
		t.Fatal(err)
	}
	db, err := pkgmeta.Open(res)
	if err != nil {
		t.Fatal(err)
	}
	return packagedFiles(db)
}

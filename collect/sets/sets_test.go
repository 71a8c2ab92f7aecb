package sets

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

func layout(t *testing.T, files map[string]string, links map[string]string) Env {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if strings.HasSuffix(p, "/") {
			continue
		}
		os.WriteFile(full, []byte(content), 0o644)
	}
	for p, target := range links {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.Symlink(target, full)
	}
	res, err := rootpath.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return Env{Res: res, Getenv: func(string) string { return "" }}
}

func paths(items []Item) string {
	var out []string
	for _, it := range items {
		s := it.Path
		if it.Tree {
			s += "/"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestCertsLayouts(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		links map[string]string
		want  string
	}{
		{"debian", map[string]string{"etc/ssl/certs/ca-certificates.crt": "pem", "usr/share/ca-certificates/mozilla/A.crt": "a"},
			map[string]string{"etc/ssl/certs/1234.0": "/usr/share/ca-certificates/mozilla/A.crt", "usr/lib/ssl/cert.pem": "/etc/ssl/certs/ca-certificates.crt", "usr/lib/ssl/certs": "/etc/ssl/certs"},
			"/etc/ssl/certs/ /usr/lib/ssl/cert.pem /usr/lib/ssl/certs /usr/share/ca-certificates/"},
		{"alpine", map[string]string{"etc/ssl/cert.pem": "pem", "etc/ssl/certs/ca-certificates.crt": "pem"}, nil,
			"/etc/ssl/cert.pem /etc/ssl/certs/"},
		{"rhel", map[string]string{"etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem": "pem"},
			map[string]string{"etc/pki/tls/certs/ca-bundle.crt": "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "etc/pki/tls/cert.pem": "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"},
			"/etc/pki/ca-trust/extracted/ /etc/pki/tls/cert.pem /etc/pki/tls/certs/"},
	}
	for _, tt := range tests {
		env := layout(t, tt.files, tt.links)
		items, err := certs(env)
		if err != nil || paths(items) != tt.want {
			t.Errorf("%s: %s (%v)\nwant %s", tt.name, paths(items), err, tt.want)
		}
	}
	env := layout(t, map[string]string{"opt/ca.pem": "pem"}, nil)
	env.Getenv = func(k string) string {
		return map[string]string{"SSL_CERT_FILE": "/opt/ca.pem", "SSL_CERT_DIR": "/opt/certs:/etc/more"}[k]
	}
	items, err := certs(env)
	if err != nil || paths(items) != "/etc/more/ /opt/ca.pem /opt/certs/" {
		t.Errorf("env: %s %v", paths(items), err)
	}
	if _, err := certs(layout(t, map[string]string{"etc/": ""}, nil)); err == nil || !strings.Contains(err.Error(), "ca-certificates") {
		t.Errorf("no certificates: %v", err)
	}
}

func TestNssSources(t *testing.T) {
	conf := "# comment\npasswd:  files systemd\nhosts: files mdns4_minimal [NOTFOUND=return] dns myhostname # end\nbogus line\n"
	if got := strings.Join(nssSources([]byte(conf)), " "); got != "files systemd files mdns4_minimal dns myhostname" {
		t.Errorf("nssSources = %q", got)
	}
	env := layout(t, map[string]string{"etc/nsswitch.conf": conf, "etc/hosts": "127.0.0.1 localhost\n"}, nil)
	env.FindLib = func(s string) (string, bool) {
		if s == "libnss_mdns4_minimal.so.2" {
			return "", false
		}
		return "/lib/" + s, true
	}
	items, _ := nss(env)
	got := paths(items)
	for _, want := range []string{"/lib/libnss_files.so.2", "/lib/libnss_systemd.so.2", "/lib/libnss_dns.so.2", "/lib/libresolv.so.2", "/lib/libnss_myhostname.so.2", "/etc/hosts"} {
		if !strings.Contains(got, want) {
			t.Errorf("nss lacks %s: %s", want, got)
		}
	}
	if strings.Count(got, "libnss_files") != 1 || strings.Contains(got, "mdns") {
		t.Errorf("nss: %s", got)
	}
}

func TestLocale(t *testing.T) {
	env := layout(t, map[string]string{
		"usr/lib/locale/C.utf8/LC_CTYPE": "x", "usr/lib/locale/de_DE.iso88591/LC_CTYPE": "x",
		"usr/lib/x86_64-linux-gnu/gconv/gconv-modules": "", "usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so": "",
	}, nil)
	items, err := locale(env)
	if err != nil || !strings.Contains(paths(items), "/usr/lib/locale/C.utf8/") || strings.Contains(paths(items), "ISO8859") {
		t.Errorf("C.UTF-8: %s %v", paths(items), err)
	}
	env.Locale = "de_DE.ISO-8859-1"
	items, err = locale(env)
	if err != nil || !strings.Contains(paths(items), "/usr/lib/locale/de_DE.iso88591/") || !strings.Contains(paths(items), "gconv/ISO8859-1.so") {
		t.Errorf("de_DE.ISO-8859-1: %s %v", paths(items), err)
	}
	env.Locale = "fr_FR.UTF-8"
	if _, err := locale(env); err == nil || !strings.Contains(err.Error(), "fr_FR.UTF-8") {
		t.Errorf("a missing locale: %v", err)
	}
}

func TestUsers(t *testing.T) {
	env := layout(t, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\nalice:x:1000:\nwww-data:x:33:\n",
	}, nil)
	env.User = "www-data"
	items, err := users(env)
	if err != nil || len(items) != 2 {
		t.Fatal(err)
	}
	wantPw := "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n"
	wantGr := "root:x:0:\nnogroup:x:65534:\nwww-data:x:33:\n"
	if string(items[0].Data) != wantPw || string(items[1].Data) != wantGr {
		t.Errorf("passwd:\n%s\ngroup:\n%s", items[0].Data, items[1].Data)
	}
	env.User = "app" // not in the image: the first free uid from 1000
	items, _ = users(env)
	if !strings.Contains(string(items[0].Data), "app:x:1001:1001:app:/home/app:/usr/sbin/nologin\n") {
		t.Errorf("new user:\n%s", items[0].Data)
	}
	env.User = "bad:name"
	if _, err := users(env); err == nil {
		t.Error("a user name with ':' was accepted")
	}
}

func TestLookup(t *testing.T) {
	s, err := Lookup([]string{"nss,certs", "certs", " tzdata "})
	if err != nil || len(s) != 3 {
		t.Errorf("%v %v", s, err)
	}
	if _, err := Lookup([]string{"nss,dns"}); err == nil || !strings.Contains(err.Error(), `"dns"`) || !strings.Contains(err.Error(), "certs") {
		t.Errorf("unknown: %v", err)
	}
}

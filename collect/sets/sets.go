package sets

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// Item is one thing a set adds.
type Item struct {
	Path string
	// Tree takes a directory whole.
	Tree bool
	// Data, when not nil, is a file the set makes (Mode applies).
	Data []byte
	Mode uint32
	// Optional items are skipped when missing (layouts differ).
	Optional bool
	Detail   string
}

// Env is what sets may look at.
type Env struct {
	Res    *rootpath.Resolver
	Getenv func(string) string
	// Locale for the locale set (default C.UTF-8).
	Locale string
	// User to add to the generated passwd and group (users set).
	User string
	// FindLib finds a shared library by soname as the loader would.
	FindLib func(soname string) (string, bool)
}

// Set is a named group.
type Set struct {
	Name    string
	Summary string
	Items   func(Env) ([]Item, error)
}

// All lists the sets.
var All = []Set{
	{"nss", "name service: nsswitch.conf, hosts, resolv.conf, services, protocols, gai.conf, and the libnss modules nsswitch.conf names", nss},
	{"certs", "CA certificates: the bundle and directory of Debian, Alpine and RHEL, OpenSSL's default paths, SSL_CERT_FILE and SSL_CERT_DIR", certs},
	{"tzdata", "time zones: all of /usr/share/zoneinfo, /etc/localtime, /etc/timezone", tzdata},
	{"locale", "a locale (C.UTF-8 unless --locale) and the gconv modules it needs", locale},
	{"users", "minimal /etc/passwd and /etc/group: root, nobody, and --user", users},
	{"shell", "/bin/sh and a few tools to debug a running container (ls, cat, env, grep, ps, id...)", shell},
}

// Lookup returns the named sets ("nss,certs" may be given as one name).
func Lookup(names []string) ([]Set, error) {
	var out []Set
	seen := map[string]bool{}
	for _, n := range names {
		for _, name := range strings.Split(n, ",") {
			name = strings.TrimSpace(name)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			found := false
			for _, s := range All {
				if s.Name == name {
					out = append(out, s)
					found = true
				}
			}
			if !found {
				return nil, errors.Errorf("unknown set %q: expected one of %s", name, strings.Join(Names(), ", "))
			}
		}
	}
	return out, nil
}

// Names lists the set names.
func Names() []string {
	var out []string
	for _, s := range All {
		out = append(out, s.Name)
	}
	return out
}

func exists(env Env, p string) bool {
	_, err := env.Res.Resolve(p, true)
	return err == nil
}

func isDir(env Env, p string) bool {
	r, err := env.Res.Resolve(p, true)
	return err == nil && r.Info.IsDir()
}

func opt(paths ...string) []Item {
	var out []Item
	for _, p := range paths {
		out = append(out, Item{Path: p, Optional: true})
	}
	return out
}

func nss(env Env) ([]Item, error) {
	items := opt("/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/host.conf",
		"/etc/services", "/etc/protocols", "/etc/gai.conf", "/etc/networks")
	if env.FindLib == nil {
		return items, nil
	}
	// The modules nsswitch.conf names, where they are separate libraries
	// (glibc; musl has none). "files" and "dns" are built into glibc
	// since 2.34 but the stubs are loaded by older ones.
	data, err := os.ReadFile(env.Res.HostPath(mustCanonical(env, "/etc/nsswitch.conf")))
	if err != nil {
		return items, nil
	}
	seen := map[string]bool{}
	for _, src := range nssSources(data) {
		if seen[src] {
			continue
		}
		seen[src] = true
		if p, ok := env.FindLib("libnss_" + src + ".so.2"); ok {
			items = append(items, Item{Path: p, Detail: "libnss_" + src + ", named by nsswitch.conf"})
		}
		if src == "dns" {
			if p, ok := env.FindLib("libresolv.so.2"); ok {
				items = append(items, Item{Path: p, Detail: "libresolv, for dns"})
			}
		}
	}
	return items, nil
}

// nssSources lists the services of nsswitch.conf lines
// ("hosts: files mdns4_minimal [NOTFOUND=return] dns").
func nssSources(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		_, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if strings.HasPrefix(f, "[") || strings.HasSuffix(f, "]") || strings.Contains(f, "=") {
				continue
			}
			out = append(out, f)
		}
	}
	return out
}

func mustCanonical(env Env, p string) string {
	c, err := env.Res.Canonical(p)
	if err != nil {
		return p
	}
	return c
}

func certs(env Env) ([]Item, error) {
	var items []Item
	if env.Getenv != nil {
		if f := env.Getenv("SSL_CERT_FILE"); f != "" {
			items = append(items, Item{Path: f, Detail: "SSL_CERT_FILE"})
		}
		for _, d := range strings.Split(env.Getenv("SSL_CERT_DIR"), ":") {
			if d != "" {
				items = append(items, Item{Path: d, Tree: true, Detail: "SSL_CERT_DIR"})
			}
		}
	}
	for _, p := range []string{
		"/etc/ssl/certs",                   // Debian, Ubuntu, Alpine: the bundle and the hashed directory
		"/etc/pki/tls/certs",               // RHEL, Fedora
		"/etc/pki/ca-trust/extracted",      // RHEL, Fedora: what the above links to
		"/usr/share/ca-certificates",       // Debian: what /etc/ssl/certs links to
		"/usr/local/share/ca-certificates", // local additions
	} {
		if isDir(env, p) {
			items = append(items, Item{Path: p, Tree: true, Optional: true})
		}
	}
	// OpenSSL's compiled-in default files and directories.
	for _, p := range []string{"/etc/ssl/cert.pem", "/usr/lib/ssl/cert.pem", "/usr/lib/ssl/certs",
		"/etc/pki/tls/cert.pem", "/usr/local/ssl/cert.pem", "/etc/ssl/openssl.cnf", "/usr/lib/ssl/openssl.cnf", "/etc/pki/tls/openssl.cnf"} {
		if exists(env, p) {
			items = append(items, Item{Path: p, Optional: true, Detail: "OpenSSL default path"})
		}
	}
	if len(items) == 0 {
		return nil, errors.New("no CA certificates in this root: install ca-certificates in the image first")
	}
	return items, nil
}

func tzdata(env Env) ([]Item, error) {
	if !isDir(env, "/usr/share/zoneinfo") {
		return nil, errors.New("no /usr/share/zoneinfo in this root: install tzdata in the image first")
	}
	return append([]Item{{Path: "/usr/share/zoneinfo", Tree: true}}, opt("/etc/localtime", "/etc/timezone")...), nil
}

func locale(env Env) ([]Item, error) {
	name := env.Locale
	if name == "" {
		name = "C.UTF-8"
	}
	lang, codeset, _ := strings.Cut(name, ".")
	if i := strings.IndexByte(codeset, '@'); i >= 0 {
		codeset = codeset[:i]
	}
	// glibc normalizes the codeset: lower case, without punctuation.
	norm := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, codeset)
	var items []Item
	found := false
	for _, dir := range []string{"/usr/lib/locale/" + name, "/usr/lib/locale/" + lang + "." + norm} {
		if isDir(env, dir) {
			items = append(items, Item{Path: dir, Tree: true, Detail: "locale " + name})
			found = true
			break
		}
	}
	if !found && name != "C" && name != "POSIX" && exists(env, "/usr/lib/locale/locale-archive") {
		items = append(items, Item{Path: "/usr/lib/locale/locale-archive", Detail: "holds locale " + name})
		found = true
	}
	if !found && name != "C" && name != "POSIX" && !exists(env, "/lib/ld-musl-x86_64.so.1") && !exists(env, "/lib/ld-musl-aarch64.so.1") {
		return nil, errors.Errorf("locale %s is not in this root (/usr/lib/locale): generate it first (locale-gen, localedef)", name)
	}
	items = append(items, opt("/usr/share/locale/locale.alias", "/etc/locale.alias", "/etc/default/locale")...)
	for _, g := range []string{"/usr/lib/x86_64-linux-gnu/gconv", "/usr/lib/aarch64-linux-gnu/gconv", "/usr/lib/i386-linux-gnu/gconv", "/usr/lib64/gconv", "/usr/lib/gconv"} {
		if !isDir(env, g) {
			continue
		}
		items = append(items, opt(g+"/gconv-modules", g+"/gconv-modules.cache")...)
		if isDir(env, g+"/gconv-modules.d") {
			items = append(items, Item{Path: g + "/gconv-modules.d", Tree: true, Optional: true})
		}
		// A non-UTF-8 codeset needs its converter module.
		if norm != "" && norm != "utf8" {
			for _, m := range gconvNames(codeset) {
				if exists(env, g+"/"+m) {
					items = append(items, Item{Path: g + "/" + m, Detail: "converter for " + codeset})
					break
				}
			}
		}
		break
	}
	return items, nil
}

// gconvNames guesses the module file of a codeset: ISO-8859-1 is
// ISO8859-1.so, KOI8-R is KOI8-R.so, CP1252 is CP1252.so.
func gconvNames(codeset string) []string {
	up := strings.ToUpper(codeset)
	out := []string{up + ".so"}
	if strings.HasPrefix(up, "ISO-") {
		out = append(out, "ISO"+up[4:]+".so")
	}
	if strings.HasPrefix(up, "ISO_") {
		out = append(out, "ISO"+up[4:]+".so")
	}
	return out
}

func users(env Env) ([]Item, error) {
	passwd, _ := os.ReadFile(env.Res.HostPath(mustCanonical(env, "/etc/passwd")))
	group, _ := os.ReadFile(env.Res.HostPath(mustCanonical(env, "/etc/group")))
	pw := parseColon(passwd)
	gr := parseColon(group)
	var pwOut, grOut strings.Builder
	addUser := func(name, uid, gid, home, shell string) {
		if f, ok := pw[name]; ok && len(f) >= 7 {
			fmt.Fprintf(&pwOut, "%s:x:%s:%s:%s:%s:%s\n", name, f[2], f[3], f[4], f[5], f[6])
			uid, gid = f[2], f[3]
		} else {
			fmt.Fprintf(&pwOut, "%s:x:%s:%s:%s:%s:%s\n", name, uid, gid, name, home, shell)
		}
		gname := name
		for n, f := range gr {
			if len(f) >= 3 && f[2] == gid {
				gname = n
			}
		}
		if !strings.Contains(grOut.String(), "\n"+gname+":") && !strings.HasPrefix(grOut.String(), gname+":") {
			fmt.Fprintf(&grOut, "%s:x:%s:\n", gname, gid)
		}
	}
	nologin := "/usr/sbin/nologin"
	addUser("root", "0", "0", "/root", nologin)
	addUser("nobody", "65534", "65534", "/nonexistent", nologin)
	if env.User != "" && env.User != "root" && env.User != "nobody" {
		if strings.ContainsAny(env.User, ":\n") {
			return nil, errors.Errorf("user name %q: expected no ':' or newline", env.User)
		}
		uid := nextUID(pw)
		addUser(env.User, uid, uid, "/home/"+env.User, nologin)
	}
	return []Item{
		{Path: "/etc/passwd", Data: []byte(pwOut.String()), Mode: 0o644, Detail: "generated"},
		{Path: "/etc/group", Data: []byte(grOut.String()), Mode: 0o644, Detail: "generated"},
	}, nil
}

func parseColon(data []byte) map[string][]string {
	m := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 3 && f[0] != "" && !strings.HasPrefix(f[0], "#") {
			if _, dup := m[f[0]]; !dup {
				m[f[0]] = f
			}
		}
	}
	return m
}

func nextUID(pw map[string][]string) string {
	used := map[int]bool{}
	for _, f := range pw {
		if n, err := strconv.Atoi(f[2]); err == nil {
			used[n] = true
		}
	}
	for uid := 1000; ; uid++ {
		if !used[uid] {
			return strconv.Itoa(uid)
		}
	}
}

func shell(env Env) ([]Item, error) {
	if !exists(env, "/bin/sh") {
		return nil, errors.New("no /bin/sh in this root")
	}
	items := []Item{{Path: "/bin/sh"}}
	tools := []string{"ls", "cat", "env", "grep", "ps", "id", "echo", "mkdir", "rm", "cp", "mv", "head", "tail", "sleep", "find", "wc", "busybox"}
	sort.Strings(tools)
	for _, t := range tools {
		for _, d := range []string{"/bin", "/usr/bin"} {
			if exists(env, path.Join(d, t)) {
				items = append(items, Item{Path: path.Join(d, t), Optional: true})
				break
			}
		}
	}
	return items, nil
}

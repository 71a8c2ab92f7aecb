package secrets

import (
	"bytes"
	"strings"
)

// scanNamed reads a credential file found by its name, line by line:
// the variables of a .env file whose names say they hold credentials (or
// whose values are URLs with a password), the passwords of a .netrc, the
// entries of a .pgpass.
func scanNamed(data []byte, name string, kind Kind) []Finding {
	var out []Finding
	for n, line := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimSpace(string(bytes.TrimSuffix(line, []byte("\r"))))
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := Finding{Path: name, Line: n + 1, Kind: kind, offset: -1}
		switch kind {
		case EnvCredential:
			if v, ok := envCredential(l); ok {
				f.Detail = v
				out = append(out, f)
			}
		case NetrcPassword:
			if netrcPassword(l) {
				out = append(out, f)
			}
		case PgpassPassword:
			if pgpassEntry(l) {
				out = append(out, f)
			}
		}
	}
	return out
}

// credentialWords are the parts of a variable name that say it holds a
// credential.
var credentialWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY",
	"ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL", "CREDENTIALS", "PASS", "PWD", "KEY"}

// envCredential reads "[export] NAME=VALUE" and returns NAME when it
// names a credential (or VALUE is a URL with a password) and VALUE is
// set: not empty, not a reference to another variable.
func envCredential(l string) (string, bool) {
	l = strings.TrimPrefix(l, "export ")
	name, value, ok := strings.Cut(l, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return "", false
	}
	value = strings.TrimSpace(value)
	if i := strings.Index(value, " #"); i >= 0 && !strings.HasPrefix(value, `"`) && !strings.HasPrefix(value, "'") {
		value = strings.TrimSpace(value[:i])
	}
	value = strings.Trim(value, `"'`)
	switch strings.ToLower(value) {
	case "", "true", "false", "yes", "no", "on", "off", "none", "null":
		return "", false
	}
	if strings.HasPrefix(value, "$") {
		return "", false
	}
	if urlPassword(value) {
		return name, true
	}
	up := strings.ToUpper(name)
	if up == "PWD" || up == "OLDPWD" { // the shell's working directories
		return "", false
	}
	for _, part := range strings.FieldsFunc(up, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		for _, w := range credentialWords {
			if part == w {
				return name, true
			}
		}
	}
	for _, w := range credentialWords[:len(credentialWords)-3] { // PASS, PWD and KEY only as words
		if strings.Contains(up, w) {
			return name, true
		}
	}
	return "", false
}

// urlPassword reports whether v is a URL with a password:
// scheme://user:password@host.
func urlPassword(v string) bool {
	i := strings.Index(v, "://")
	if i <= 0 {
		return false
	}
	rest := v[i+3:]
	at := strings.IndexByte(rest, '@')
	if at < 0 {
		return false
	}
	userinfo := rest[:at]
	if strings.ContainsAny(userinfo, "/?#") {
		return false
	}
	_, pw, ok := strings.Cut(userinfo, ":")
	return ok && pw != ""
}

// netrcPassword reports whether a .netrc line sets a password:
// "machine HOST login USER password PASS", on one line or several.
func netrcPassword(l string) bool {
	f := strings.Fields(l)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "password" || f[i] == "passwd" {
			return true
		}
	}
	return false
}

// pgpassEntry reports whether a .pgpass line is
// "host:port:database:user:password" with a password.
func pgpassEntry(l string) bool {
	var fields []string
	var cur strings.Builder
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c == '\\' && i+1 < len(l):
			i++
			cur.WriteByte(l[i])
		case c == ':':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	fields = append(fields, cur.String())
	return len(fields) == 5 && fields[4] != ""
}

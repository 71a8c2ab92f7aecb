package filelist

import (
	"path"
	"strings"

	"github.com/pkg/errors"
)

// Pattern is a path glob. Components are matched with path.Match
// (*, ?, [...]); "**" matches any number of components, at least one
// when it ends the pattern ("/tmp/**" is what /tmp holds, not /tmp).
// A pattern that starts with "/" is anchored at the root; one without
// matches at any depth ("*.pyc", ".git/**"). A pattern that matches a
// directory also matches everything under it.
type Pattern struct {
	text  string
	parts []string
	root  bool
}

// ParsePattern checks a pattern.
func ParsePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, errors.New("empty pattern")
	}
	p := Pattern{text: s, root: strings.HasPrefix(s, "/")}
	for _, part := range strings.Split(strings.Trim(s, "/"), "/") {
		if part == "" {
			continue
		}
		if part != "**" {
			if _, err := path.Match(part, ""); err != nil {
				return Pattern{}, errors.Errorf("pattern %q: bad component %q", s, part)
			}
		}
		p.parts = append(p.parts, part)
	}
	if len(p.parts) == 0 {
		return Pattern{}, errors.Errorf("pattern %q matches everything", s)
	}
	return p, nil
}

// MustPattern is ParsePattern for patterns known to be valid.
func MustPattern(s string) Pattern {
	p, err := ParsePattern(s)
	if err != nil {
		panic(err)
	}
	return p
}

func (p Pattern) String() string { return p.text }

// Match reports whether the absolute path p matches, or lies under a
// directory that matches.
func (p Pattern) Match(name string) bool {
	return p.match(components(name))
}

// components splits an absolute path into its names (none for "/").
func components(name string) []string {
	name = strings.Trim(name, "/")
	if name == "" {
		return nil
	}
	return strings.Split(name, "/")
}

// match is Match for a path split by components: a filter splits each
// path once for all its patterns.
func (p Pattern) match(comps []string) bool {
	if len(comps) == 0 {
		return false // the root itself
	}
	if p.root {
		return matchPrefix(p.parts, comps)
	}
	for i := range comps {
		if matchPrefix(p.parts, comps[i:]) {
			return true
		}
	}
	return false
}

// matchPrefix reports whether parts match comps or a prefix of comps.
func matchPrefix(parts, comps []string) bool {
	if len(parts) == 0 {
		return true // a prefix matched: what is under it matches too
	}
	if parts[0] == "**" {
		if len(parts) == 1 {
			return len(comps) >= 1
		}
		for i := 0; i <= len(comps); i++ {
			if matchPrefix(parts[1:], comps[i:]) {
				return true
			}
		}
		return false
	}
	if len(comps) == 0 {
		return false
	}
	ok, _ := path.Match(parts[0], comps[0])
	return ok && matchPrefix(parts[1:], comps[1:])
}

// Filter decides what stays out of a list. An exclude beats every
// source; only an include of exactly the excluded path beats it.
type Filter struct {
	Exclude []Pattern
	// Default are the default excludes (DefaultExcludes): like Exclude,
	// but they leave in each path of Keep and what is under it.
	Default []Pattern
	// Keep are absolute paths the defaults must not take away: the
	// command's working directory, the files named in its arguments.
	Keep []string
	// Secrets are excluded like Exclude, but reported (see SecretError).
	Secrets []Pattern
	// Include holds the exact paths included by hand.
	Include map[string]bool
}

// DefaultExcludes are the trees scratchpack never takes from a trace:
// what a runtime mounts (/proc, /sys, /dev), what holds run-time state
// (the contents of /run, /tmp, /var/tmp: the directories themselves stay
// when a program writes into them), and apt's caches and lists.
var DefaultExcludes = []string{"/proc", "/sys", "/dev", "/run/**", "/tmp/**", "/var/tmp/**",
	"/var/cache/apt/**", "/var/lib/apt/lists/**", "/var/cache/debconf/*-old"}

// RuntimeExcludes are the default excludes of contents that directories
// a program made or wrote into pass (see Builder.AddRuntimeDir): a
// server's /run/mysqld or /run/apache2 is kept, empty, with its owner and
// mode, as the program needs it at start-up.
var RuntimeExcludes = []string{"/run/**", "/tmp/**", "/var/tmp/**"}

// IsRuntimeExclude reports whether pattern (as written) is one of
// RuntimeExcludes.
func IsRuntimeExclude(pattern string) bool {
	for _, p := range RuntimeExcludes {
		if p == pattern {
			return true
		}
	}
	return false
}

// SecretPatterns are files that must never reach an image by accident.
var SecretPatterns = []string{
	"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
	"/etc/ssh/ssh_host_*_key", "/etc/ssl/private/**", "/etc/pki/tls/private/**",
	"/root/.ssh/**", "/home/*/.ssh/**",
	"/root/.aws/**", "/home/*/.aws/**",
	"/root/.docker/config.json", "/home/*/.docker/config.json",
	"/root/.netrc", "/home/*/.netrc", "/root/.npmrc", "/home/*/.npmrc",
	"/root/.git-credentials", "/home/*/.git-credentials",
	"/root/.pgpass", "/home/*/.pgpass", "/root/.kube/config", "/home/*/.kube/config",
	"/root/.config/gcloud/**", "/home/*/.config/gcloud/**",
	"/root/.gnupg/**", "/home/*/.gnupg/**",
}

// ExcludedError is a path left out by an exclude pattern.
type ExcludedError struct {
	Path    string
	Pattern string
	Secret  bool
	Default bool // the pattern is one of the default excludes
}

func (e *ExcludedError) Error() string {
	if e.Secret {
		return "left out " + e.Path + ": it may hold secrets (matches " + e.Pattern + "); --include " + e.Path + " packs it"
	}
	return "left out " + e.Path + " (excluded by " + e.Pattern + ")"
}

// excluded returns why p is excluded, or nil.
func (f *Filter) excluded(p string) *ExcludedError { return f.excludedAs(p, false) }

// excludedAs is excluded; a runtime directory passes the default
// excludes of contents (RuntimeExcludes), never the user's.
func (f *Filter) excludedAs(p string, runtime bool) *ExcludedError {
	if f == nil || f.Include[p] || len(f.Secrets)+len(f.Exclude)+len(f.Default) == 0 {
		return nil
	}
	comps := components(p)
	for _, pat := range f.Secrets {
		if pat.match(comps) {
			return &ExcludedError{Path: p, Pattern: pat.String(), Secret: true}
		}
	}
	for _, pat := range f.Exclude {
		if pat.match(comps) {
			return &ExcludedError{Path: p, Pattern: pat.String()}
		}
	}
	if len(f.Default) == 0 || f.kept(p) {
		return nil
	}
	for _, pat := range f.Default {
		if runtime && IsRuntimeExclude(pat.text) {
			continue
		}
		if pat.match(comps) {
			return &ExcludedError{Path: p, Pattern: pat.String(), Default: true}
		}
	}
	return nil
}

// kept reports whether p is a path of Keep or lies under one.
func (f *Filter) kept(p string) bool {
	for _, k := range f.Keep {
		if p == k || strings.HasPrefix(p, k) && len(p) > len(k) && (p[len(k)] == '/' || k == "/") {
			return true
		}
	}
	return false
}

// Excluded reports whether the filter leaves p out.
func (f *Filter) Excluded(p string) bool { return f.excluded(p) != nil }

// ParsePatterns parses patterns, naming the bad one.
func ParsePatterns(list []string) ([]Pattern, error) {
	out := make([]Pattern, 0, len(list))
	for _, s := range list {
		p, err := ParsePattern(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

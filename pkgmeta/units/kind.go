package units

import (
	"strings"

	"github.com/pkg/errors"
)

// Kind is a kind of unit.
type Kind string

// The kinds: four languages and the OS packages.
const (
	Python Kind = "python"
	Node   Kind = "node"
	Ruby   Kind = "ruby"
	Perl   Kind = "perl"
	OS     Kind = "os"
)

// Languages are the language kinds, in the order they are looked up.
var Languages = []Kind{Python, Node, Ruby, Perl}

// All is every kind ("all" on the command line).
var All = append(append([]Kind{}, Languages...), OS)

// ParseKinds reads --complete values: each one kind or several
// separated by commas; "all" is every kind. The result is in All's
// order, each kind once.
func ParseKinds(values []string) ([]Kind, error) {
	want := map[Kind]bool{}
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			switch k := Kind(s); k {
			case Python, Node, Ruby, Perl, OS:
				want[k] = true
			case "all":
				for _, k := range All {
					want[k] = true
				}
			default:
				return nil, errors.Errorf("--complete %q: expected python, node, ruby, perl, os or all", s)
			}
		}
	}
	var out []Kind
	for _, k := range All {
		if want[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// Brings reports whether a kept file at p brings its unit of kind k:
// into completion, and into the cut table. A file under /etc does not
// bring its OS package: it is configuration, which glibc and the like
// read in every program (/etc/locale.alias is no reason to keep, or to
// list as cut, the 15 MiB of locales).
func Brings(k Kind, p string) bool {
	return k != OS || !strings.HasPrefix(p, "/etc/")
}

// ModuleName is what a language counts its units in.
func (k Kind) ModuleName() string {
	switch k {
	case Python, Ruby, Perl, Node:
		return "modules"
	}
	return ""
}

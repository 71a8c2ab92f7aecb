package units

import (
	"path"
	"strings"
	"testing"
)

func FuzzRecordTops(f *testing.F) {
	f.Add([]byte("six.py,sha256=x,1\n__pycache__/six.cpython-311.pyc,,\nsix-1.16.dist-info/RECORD,,\n../../../bin/six,,\n"), "six-1.16.dist-info")
	f.Add([]byte("\"a,b/c.py\",,\npkg/__init__.py,,\n"), "x.dist-info")
	f.Add([]byte("\"unterminated\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, self string) {
		tops, err := recordTops(data, self)
		if err != nil && !strings.HasPrefix(err.Error(), "line ") {
			t.Fatalf("recordTops: the error names no line: %v", err)
		}
		for _, top := range tops {
			if top == "" || top == self || top == ".." || strings.Contains(top, "/") {
				t.Fatalf("recordTops gave %q", top)
			}
		}
	})
}

func TestRecordTops(t *testing.T) {
	got, err := recordTops([]byte("six.py,sha256=x,1\n__pycache__/six.cpython-311.pyc,,\nsix-1.16.dist-info/RECORD,,\n../../../bin/six,,\npkg/a.py,,\npkg/b.py,,\nREADME,,\n"), "six-1.16.dist-info")
	if strings.Join(got, " ") != "six pkg" || err != nil {
		t.Errorf("recordTops: %q, %v", got, err)
	}
	// a broken line: the names before it, and the line
	got, err = recordTops([]byte("six.py,,\n\"pkg/a.py\"x,,\nother.py,,\n"), "six-1.16.dist-info")
	if strings.Join(got, " ") != "six" || err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("recordTops of a broken RECORD: %q, %v", got, err)
	}
}

// FuzzUnitOf reads each kind's unit of any path in a root with a unit of
// every kind: the path parsers (sys.path entries, node_modules and
// Debian's nodejs directories, gems and Ruby lib directories, Perl
// namespaces) never panic, and a unit they give is of its kind and holds
// the path, or holds its sorted entries only.
func FuzzUnitOf(f *testing.F) {
	for p := range langRoot {
		f.Add(p)
	}
	f.Add("/usr/lib/python3.11/__pycache__/x")
	f.Add("/app/node_modules/@scope")
	f.Add("/var/lib/gems/3.1.0/gems/-1/x.rb")
	f.Add("/usr/share/perl5/auto/x")
	res := fakeRoot(f, langRoot)
	f.Fuzz(func(t *testing.T, p string) {
		if strings.ContainsRune(p, 0) {
			return // no path of a root holds a NUL
		}
		p = path.Clean("/" + p)
		fd := NewFinder(res, nil)
		for _, k := range All {
			us, err := fd.Of(k, p)
			if err != nil {
				t.Fatalf("%s of %q: %v", k, p, err)
			}
			for _, u := range us {
				if u.Kind != k || u.Name == "" || !strings.HasPrefix(u.Key, string(k)+":") {
					t.Fatalf("%s of %q: a unit %q of kind %s, key %q", k, p, u.Name, u.Kind, u.Key)
				}
				for i := 1; i < len(u.Entries); i++ {
					if u.Entries[i-1].Path >= u.Entries[i].Path {
						t.Fatalf("%s of %q: entries not sorted: %s, %s", k, p, u.Entries[i-1].Path, u.Entries[i].Path)
					}
				}
				for _, e := range u.Entries {
					u.Module(e.Path) // never panics
				}
			}
		}
		gemName(path.Base(p))
	})
}

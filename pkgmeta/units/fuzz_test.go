package units

import (
	"strings"
	"testing"
)

func FuzzRecordTops(f *testing.F) {
	f.Add([]byte("six.py,sha256=x,1\n__pycache__/six.cpython-311.pyc,,\nsix-1.16.dist-info/RECORD,,\n../../../bin/six,,\n"), "six-1.16.dist-info")
	f.Add([]byte("\"a,b/c.py\",,\npkg/__init__.py,,\n"), "x.dist-info")
	f.Add([]byte("\"unterminated\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, self string) {
		for _, top := range recordTops(data, self) {
			if top == "" || top == self || top == ".." || strings.Contains(top, "/") {
				t.Fatalf("recordTops gave %q", top)
			}
		}
	})
}

func TestRecordTops(t *testing.T) {
	got := recordTops([]byte("six.py,sha256=x,1\n__pycache__/six.cpython-311.pyc,,\nsix-1.16.dist-info/RECORD,,\n../../../bin/six,,\npkg/a.py,,\npkg/b.py,,\nREADME,,\n"), "six-1.16.dist-info")
	if strings.Join(got, " ") != "six pkg" {
		t.Errorf("recordTops: %q", got)
	}
}

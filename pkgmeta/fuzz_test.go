package pkgmeta

import (
	"bytes"
	"testing"
)

// FuzzParseControl: any input parses or fails with an error, never a
// panic; the raw stanzas hold every field line, and parsing them again
// gives the same fields.
func FuzzParseControl(f *testing.F) {
	f.Add([]byte(libc6Stanza))
	f.Add([]byte("Package: a\nDescription: x\n .\n y\n\n# comment\nPackage: b\n"))
	f.Add([]byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+ or Artistic\n"))
	f.Add([]byte(" bad\n"))
	f.Add([]byte("A:\r\n\tb\r\n\r\nC: d"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseControl(data, "fuzz")
		if err != nil {
			return
		}
		for _, p := range ps {
			again, err := ParseControl(p.Raw, "raw")
			if err != nil || len(again) != 1 || len(again[0].Fields) != len(p.Fields) {
				t.Fatalf("raw stanza %q does not parse back to itself: %v", p.Raw, err)
			}
			for i, fl := range p.Fields {
				if again[0].Fields[i] != fl {
					t.Fatalf("field %d: %+v, then %+v", i, fl, again[0].Fields[i])
				}
			}
		}
		DEP5License(data)
	})
}

// FuzzParseMD5Sums: lines parse back to what they were.
func FuzzParseMD5Sums(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n"))
	f.Add([]byte("0123456789abcdef0123456789abcdef  usr/share/doc/a b/c\n\n"))
	f.Add([]byte("xyz\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sums, err := ParseMD5Sums(data, "fuzz")
		if err != nil {
			return
		}
		for _, s := range sums {
			if !bytes.Contains(data, []byte(s.Line)) || len(s.Sum) != 32 {
				t.Fatalf("%+v", s)
			}
		}
	})
}

// FuzzParseDiversions and FuzzParseApkInstalled: no panics, and what is
// parsed holds together.
func FuzzParseDiversions(f *testing.F) {
	f.Add([]byte("/usr/bin/tool\n/usr/bin/tool.real\ntool-wrapper\n"))
	f.Add([]byte("/a\n/b\n:\n/c\n/d\npkg\n"))
	f.Add([]byte("/a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		divs, err := ParseDiversions(data, "fuzz")
		if err != nil {
			return
		}
		for _, d := range divs {
			if d.from[0] != '/' || d.to[0] != '/' || d.by == "" {
				t.Fatalf("%+v", d)
			}
		}
	})
}

func FuzzParseApkInstalled(f *testing.F) {
	f.Add([]byte("P:musl\nV:1.2.4-r2\nA:x86_64\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1=\n\nP:b\nF:bin\nR:b\n"))
	f.Add([]byte("R:x\n"))
	f.Add([]byte("P:x\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := ParseApkInstalled(data, "fuzz")
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatal("a package without a name")
			}
			kept := map[string]bool{}
			for _, f := range p.apkFiles {
				if f.name != "" {
					kept["/"+f.dir+"/"+f.name] = true
				}
			}
			again, err := ParseApkInstalled(apkStanza(p, kept), "again")
			if err != nil || len(again) != 1 || again[0].Name != p.Name {
				t.Fatalf("the trimmed stanza of %q does not parse back: %v", p.Name, err)
			}
		}
	})
}

package pkgmeta

import (
	"reflect"
	"testing"
)

// TestFromImage: a package's kept files are those its md5sums and its
// Conffiles name that the image holds (the merged-/usr alias of a listed
// path counts), each once, with their paths.
func TestFromImage(t *testing.T) {
	meta := map[string][]byte{
		DpkgStatusD + "/openssl": []byte("Package: openssl\nVersion: 3.0.19-1\nArchitecture: amd64\nConffiles:\n /etc/ssl/openssl.cnf fe1993ec22f6b8a46cb9706acd8fc68f\n /etc/ssl/gone.cnf 00000000000000000000000000000000\n /etc/ssl/ct.cnf 11111111111111111111111111111111\nDescription: x\n"),
		DpkgStatusD + "/openssl.md5sums": []byte("0123456789abcdef0123456789abcdef  usr/bin/openssl\n" +
			"0123456789abcdef0123456789abcdef  etc/ssl/openssl.cnf\n" + // listed twice: counted once
			"0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libssl.so.3\n" +
			"0123456789abcdef0123456789abcdef  usr/share/doc/openssl/changelog.gz\n"),
	}
	files := map[string]int64{"/usr/bin/openssl": 1000, "/etc/ssl/openssl.cnf": 12, "/etc/ssl/ct.cnf": 5, "/usr/lib/x86_64-linux-gnu/libssl.so.3": 500, "/app": 7}
	links := map[string]string{"/lib": "usr/lib"}
	got, err := FromImage(meta, files, links)
	if err != nil {
		t.Fatal(err)
	}
	want := []Kept{{Name: "openssl", Version: "3.0.19-1", Arch: "amd64", Files: 4, Bytes: 1517,
		Paths: []string{"/etc/ssl/openssl.cnf", "/etc/ssl/ct.cnf", "/usr/bin/openssl", "/usr/lib/x86_64-linux-gnu/libssl.so.3"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

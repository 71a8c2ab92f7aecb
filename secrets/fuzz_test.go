package secrets

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzScan: the scanner never panics, every finding has a line inside
// the input and a kind, and small blocks find exactly what one block
// finds.
func FuzzScan(f *testing.F) {
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"), "k.pem")
	f.Add([]byte("a AKIAABCDEFGHIJKLMNOP b aB3defghijklmnopqrstuvwxyzABCDEFGHIJKLMN\n"), "c")
	f.Add([]byte("ghp_aBcdefghijklmnopqrstuvwxyz0123456789 glpat-abcdefghijklmnop1234 xoxb-1234-5678-abc\n"), "t")
	f.Add([]byte(`{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHh\n"}`), "sa.json")
	f.Add([]byte("API_KEY=x\nexport PASSWORD='y'\nURL=http://a:b@c\n"), ".env")
	f.Add([]byte("machine a login b password c\n"), ".netrc")
	f.Add([]byte("h:1:d:u:p\\:w\n"), ".pgpass")
	f.Add([]byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: x\n\nlQOYBF\n"), "k.asc")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		var whole, small Scanner
		a := whole.ScanBytes(data, name)
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, f := range a {
			if f.Line < 1 || f.Line > lines || f.Kind == "" || f.Path != name {
				t.Fatalf("finding %+v in %d lines", f, lines)
			}
		}
		small.block = 7
		b := small.ScanBytes(data, name)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("one block: %v\nblocks of 7 bytes: %v", a, b)
		}
	})
}

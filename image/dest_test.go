package image

import (
	"strings"
	"testing"
)

func TestParseDest(t *testing.T) {
	tests := []struct {
		in        string
		transport Transport
		path, tag string
		err       string
	}{
		{in: "oci:out/layout", transport: OCI, path: "out/layout"},
		{in: "oci:/abs/layout:v1.2", transport: OCI, path: "/abs/layout", tag: "v1.2"},
		{in: "docker-archive:app.tar", transport: DockerArchive, path: "app.tar"},
		{in: "docker-archive:app.tar:myapp:1.0", transport: DockerArchive, path: "app.tar", tag: "myapp:1.0"},
		{in: "docker-archive:app.tar:myapp", transport: DockerArchive, path: "app.tar", tag: "myapp:latest"},
		{in: "docker-archive:app.tar:docker.io/library/myapp:2", transport: DockerArchive, path: "app.tar", tag: "myapp:2"},
		{in: "docker-archive:app.tar:ghcr.io/me/app:2", transport: DockerArchive, path: "app.tar", tag: "ghcr.io/me/app:2"},
		{in: "docker://127.0.0.1:5000/fortune:v1", transport: Registry, tag: "127.0.0.1:5000/fortune:v1"},
		{in: "docker://ghcr.io/me/app", transport: Registry, tag: "ghcr.io/me/app"},
		{in: "fortune:v1", err: `unknown transport "fortune"`},
		{in: "rootfs.tar", err: "expected oci:DIR[:TAG]"},
		{in: "oci:", err: "expected a directory"},
		{in: "oci::v1", err: "expected a directory"},
		{in: "oci:dir:-bad", err: "the tag"},
		{in: "docker-archive:", err: "expected a file"},
		{in: "docker-archive:a.tar:UPPER:1", err: "expected NAME:TAG"},
		{in: "docker-archive:a.tar:app@sha256:0123", err: "expected NAME:TAG"},
		{in: "docker:127.0.0.1:5000/x:1", err: "expected docker://"},
		{in: "docker://", err: "expected docker://REGISTRY/REPO:TAG"},
		{in: "docker://reg/app@sha256:0123456789012345678901234567890123456789012345678901234567890123", err: "not a digest"},
		{in: "docker://reg/App:1", err: "expected docker://REGISTRY/REPO:TAG"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDest(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseDest(%q) = %+v, %v; want an error with %q", tt.in, d, err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.in) {
					t.Errorf("the error %q does not name the value %q", err, tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Transport != tt.transport || d.Path != tt.path || d.Tag != tt.tag || d.String() != tt.in {
				t.Errorf("ParseDest(%q) = %+v; want %s %q %q", tt.in, d, tt.transport, tt.path, tt.tag)
			}
		})
	}
}

// FuzzParseDest: never a panic; what parses has a transport, a path where
// one is needed, and parses again the same.
func FuzzParseDest(f *testing.F) {
	for _, s := range []string{"oci:dir", "oci:dir:tag", "docker-archive:f.tar:a/b:c", "docker://r:5000/a/b:c", "docker://x", "oci::", ":", "docker-archive:a:b:c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDest(s)
		if err != nil {
			return
		}
		switch d.Transport {
		case OCI, DockerArchive:
			if d.Path == "" {
				t.Fatalf("%q: no path", s)
			}
		case Registry:
			if d.Tag == "" {
				t.Fatalf("%q: no reference", s)
			}
		default:
			t.Fatalf("%q: transport %q", s, d.Transport)
		}
		again, err := ParseDest(d.String())
		if err != nil || again != d {
			t.Fatalf("%q parsed as %+v, then %+v, %v", s, d, again, err)
		}
	})
}

func TestParsePort(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "80", want: "80/tcp"},
		{in: "8080/tcp", want: "8080/tcp"},
		{in: "53/udp", want: "53/udp"},
		{in: "9/sctp", want: "9/sctp"},
		{in: "0", err: "1 to 65535"},
		{in: "65536", err: "1 to 65535"},
		{in: "080", err: "1 to 65535"},
		{in: "http", err: "1 to 65535"},
		{in: "80/icmp", err: "unknown protocol"},
		{in: "", err: "1 to 65535"},
	}
	for _, tt := range tests {
		got, err := ParsePort(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePort(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePort(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseLabel(t *testing.T) {
	tests := []struct{ in, k, v string }{
		{in: "a=b", k: "a", v: "b"},
		{in: "org.example.x=a=b c", k: "org.example.x", v: "a=b c"},
		{in: "empty=", k: "empty", v: ""},
		{in: "novalue"},
		{in: "=v"},
		{in: "a b=c"},
	}
	for _, tt := range tests {
		k, v, err := ParseLabel(tt.in)
		if tt.k == "" {
			if err == nil {
				t.Errorf("ParseLabel(%q) = %q, %q; want an error", tt.in, k, v)
			}
			continue
		}
		if err != nil || k != tt.k || v != tt.v {
			t.Errorf("ParseLabel(%q) = %q, %q, %v", tt.in, k, v, err)
		}
	}
}

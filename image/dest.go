package image

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/pkg/errors"
)

// Transport is where an image goes, by skopeo's transport names.
type Transport string

// Transports.
const (
	OCI           Transport = "oci"            // an OCI image layout directory
	DockerArchive Transport = "docker-archive" // a docker save file
	Registry      Transport = "docker"         // a registry, docker://
)

// Dest is a parsed --image value.
type Dest struct {
	Transport Transport
	// Path is the layout directory or the archive file (oci, docker-archive).
	Path string
	// Tag is the layout's ref name (oci), or NAME:TAG (docker-archive),
	// or REGISTRY/REPO:TAG (docker); "" when none was given.
	Tag string
	raw string
}

// String returns the destination as it was given.
func (d Dest) String() string { return d.raw }

// ParseDest reads a destination in skopeo's syntax: oci:DIR[:TAG],
// docker-archive:FILE[:NAME:TAG] or docker://REGISTRY/REPO[:TAG].
func ParseDest(s string) (Dest, error) {
	d := Dest{raw: s}
	transport, rest, ok := strings.Cut(s, ":")
	if !ok {
		return d, errors.Errorf("--image %q: expected oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG] or docker://REGISTRY/REPO:TAG", s)
	}
	switch Transport(transport) {
	case OCI:
		d.Transport = OCI
		d.Path, d.Tag, _ = strings.Cut(rest, ":")
		if d.Path == "" {
			return d, errors.Errorf("--image %q: expected a directory after oci:", s)
		}
		if d.Tag != "" && !validRefName(d.Tag) {
			return d, errors.Errorf("--image %q: the tag %q may hold only letters, digits and ._-:@/+ and must start and end with a letter or digit", s, d.Tag)
		}
	case DockerArchive:
		d.Transport = DockerArchive
		d.Path, d.Tag, _ = strings.Cut(rest, ":")
		if d.Path == "" {
			return d, errors.Errorf("--image %q: expected a file after docker-archive:", s)
		}
		if d.Tag != "" {
			t, err := name.NewTag(d.Tag) // no tag: latest
			if err != nil || strings.Contains(d.Tag, "@") {
				return d, errors.Errorf("--image %q: expected NAME:TAG after the file, such as myapp:1.0", s)
			}
			d.Tag = shortTag(t)
		}
	case Registry:
		d.Transport = Registry
		if !strings.HasPrefix(rest, "//") {
			return d, errors.Errorf("--image %q: expected docker://REGISTRY/REPO:TAG", s)
		}
		ref := rest[2:]
		if strings.Contains(ref, "@") {
			return d, errors.Errorf("--image %q: push to a tag, not a digest (the digest comes from the image)", s)
		}
		if _, err := name.NewTag(ref); err != nil {
			return d, errors.Errorf("--image %q: expected docker://REGISTRY/REPO:TAG (%v)", s, err)
		}
		d.Tag = ref
	default:
		return d, errors.Errorf("--image %q: unknown transport %q: expected oci:, docker-archive: or docker://", s, transport)
	}
	return d, nil
}

// shortTag is NAME:TAG as docker load shows it (docker.io/library/
// left out, as docker does).
func shortTag(t name.Tag) string {
	repo := t.Context().Name()
	for _, p := range []string{name.DefaultRegistry + "/library/", name.DefaultRegistry + "/", "docker.io/library/", "docker.io/"} {
		if strings.HasPrefix(repo, p) {
			repo = strings.TrimPrefix(repo, p)
			break
		}
	}
	return repo + ":" + t.TagStr()
}

// validRefName checks an OCI layout ref name (the image-spec's grammar:
// components of alphanumerics separated by -._:@/+).
func validRefName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	prevSep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if alnum(c) {
			prevSep = false
			continue
		}
		if !strings.ContainsRune("-._:@/+", rune(c)) || prevSep {
			return false
		}
		prevSep = true
	}
	return true
}

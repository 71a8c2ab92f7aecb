package source

import (
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/image"
)

// parsed is a --from value.
type parsed struct {
	transport image.Transport
	ref       name.Reference // docker
	path, tag string         // oci, docker-archive
}

// parseRef reads ref as --image names images (image.ParseDest), except
// that a registry image may be named by digest and that a name with no
// transport is a registry's.
func parseRef(ref string, insecure bool) (parsed, error) {
	switch {
	case strings.HasPrefix(ref, string(image.OCI)+":"), strings.HasPrefix(ref, string(image.DockerArchive)+":"):
		d, err := image.ParseDest(ref)
		if err != nil {
			return parsed{}, errors.New(strings.Replace(err.Error(), "--image", "--from", 1))
		}
		return parsed{transport: d.Transport, path: d.Path, tag: d.Tag}, nil
	}
	if t, _, ok := strings.Cut(ref, ":"); ok && otherTransports[t] {
		return parsed{}, errors.Errorf("--from %q: the transport %s: is not read; expected docker://, oci: or docker-archive: (podman push or skopeo copy make one of them)", ref, t)
	}
	r := strings.TrimPrefix(ref, string(image.Registry)+"://")
	if r == "" || strings.Contains(r, "://") {
		return parsed{}, errors.Errorf("--from %q: expected docker://REGISTRY/REPO[:TAG|@DIGEST], REGISTRY/REPO[:TAG], oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]", ref)
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	nr, err := name.ParseReference(r, opts...)
	if err != nil {
		return parsed{}, errors.Errorf("--from %q: expected REGISTRY/REPO[:TAG|@DIGEST] (%v)", ref, err)
	}
	return parsed{transport: image.Registry, ref: nr}, nil
}

// otherTransports are skopeo's transports that Open does not read; a
// name starting with one is not a registry's.
var otherTransports = map[string]bool{"containers-storage": true, "docker-daemon": true, "oci-archive": true, "dir": true, "sif": true, "ostree": true, "tarball": true}

// shortName is a registry reference as podman shows it: docker.io for
// Docker Hub, whose API host go-containerregistry names.
func shortName(r name.Reference) string {
	n := r.Name()
	if rest, ok := strings.CutPrefix(n, name.DefaultRegistry+"/"); ok {
		return "docker.io/" + rest
	}
	return n
}

// parsePlatform reads os/arch[/variant]; "" is the host's.
func parsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
		if runtime.GOARCH == "arm64" {
			p.Variant = "v8"
		}
		return p, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, errors.Errorf("--platform %q: expected os/arch[/variant], such as linux/amd64 or linux/arm/v7", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// platformString is os/arch[/variant], or "" when p is empty.
func platformString(p v1.Platform) string {
	if p.OS == "" && p.Architecture == "" {
		return "" // the image does not say
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// matches reports whether an image of platform got can run as want. A
// variant the image does not state is taken to match (arm64 images
// rarely say v8).
func matches(got, want v1.Platform) bool {
	if got.OS != want.OS || got.Architecture != want.Architecture {
		return false
	}
	return got.Variant == "" || want.Variant == "" || got.Variant == want.Variant
}

package image

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/atomicfile"
)

// Options for writing an image.
type Options struct {
	// Insecure allows plain http (and TLS certificates that do not
	// verify) for registries; without it only https is used.
	Insecure bool
	// Keychain finds credentials; default authn.DefaultKeychain (docker's
	// config.json, DOCKER_CONFIG, credential helpers, REGISTRY_AUTH_FILE).
	Keychain authn.Keychain
	// Progress, when set, receives the progress of a push.
	Progress func(Progress)
	// Transport, when set, carries the registry's requests (tests).
	Transport http.RoundTripper
}

// Progress of a push: bytes of blobs sent (and skipped, when the
// registry had them) out of all.
type Progress struct {
	Dest            Dest
	Complete, Total int64
	Elapsed         time.Duration
	Done            bool
}

// Result says where an image went.
type Result struct {
	Dest   Dest
	Digest string
	// Ref is the pushed image by digest (docker://), or "".
	Ref string
}

// Write writes the image to the destination.
func Write(ctx context.Context, img *Image, d Dest, o Options) (*Result, error) {
	r := &Result{Dest: d, Digest: img.Digest}
	var err error
	switch d.Transport {
	case OCI:
		err = writeLayout(img, d)
	case DockerArchive:
		err = writeArchive(img, d)
	case Registry:
		r.Ref, err = push(ctx, img, d, o)
	default:
		err = errors.Errorf("--image %s: unknown transport %q", d, d.Transport)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// writeLayout adds the image to an OCI layout, replacing an image of the
// same tag (or, without a tag, the untagged one). A new layout is made
// in a temporary directory and renamed into place.
func writeLayout(img *Image, d Dest) error {
	dir := d.Path
	var annotations map[string]string
	match := func(desc v1.Descriptor) bool { return desc.Annotations[refNameAnnotation] == "" }
	if d.Tag != "" {
		annotations = map[string]string{refNameAnnotation: d.Tag}
		match = func(desc v1.Descriptor) bool { return desc.Annotations[refNameAnnotation] == d.Tag }
	}
	opts := []layout.Option{}
	if annotations != nil {
		opts = append(opts, layout.WithAnnotations(annotations))
	}
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return errors.Errorf("--image %s: %s is neither an OCI layout (no oci-layout file) nor empty", d, dir)
		}
		p, err := layout.FromPath(dir)
		if err != nil {
			return errors.Wrapf(err, "--image %s: reading the OCI layout %s", d, dir)
		}
		if err := p.ReplaceImage(img.img, match, opts...); err != nil {
			return errors.Wrapf(err, "--image %s: writing the OCI layout %s", d, dir)
		}
		return layoutModes(img, dir)
	case err == nil:
		if err := os.Remove(dir); err != nil {
			return errors.Wrapf(err, "--image %s: replacing the empty directory", d)
		}
	case !os.IsNotExist(err):
		return errors.Wrapf(err, "--image %s", d)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return errors.Wrapf(err, "--image %s: creating the OCI layout", d)
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return errors.Wrapf(err, "--image %s: creating the OCI layout", d)
	}
	if err := p.AppendImage(img.img, opts...); err != nil {
		return errors.Wrapf(err, "--image %s: writing the OCI layout", d)
	}
	if err := layoutModes(img, tmp); err != nil {
		return err
	}
	return errors.Wrapf(os.Rename(tmp, dir), "--image %s: renaming the OCI layout into place", d)
}

// layoutModes makes what the image put in a layout readable by all, as
// a tar of it would be: the library writes blobs 0600 and its JSON files
// with the umask applied to 0777.
func layoutModes(img *Image, dir string) error {
	names := []string{".", "blobs", "blobs/sha256", "index.json", "oci-layout"}
	for _, f := range img.files() {
		names = append(names, "blobs/sha256/"+strings.TrimPrefix(f, "sha256:"))
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err != nil {
			return errors.Wrap(err, "writing the OCI layout")
		}
		mode := os.FileMode(0o644)
		if st.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(p, mode); err != nil {
			return errors.Wrap(err, "writing the OCI layout")
		}
	}
	return nil
}

// writeArchive writes a docker save file (manifest.json, the config,
// the layer), which docker load and podman load read.
func writeArchive(img *Image, d Dest) error {
	refs := map[name.Reference]v1.Image{}
	if d.Tag != "" {
		t, err := name.NewTag(d.Tag)
		if err != nil {
			return errors.Wrapf(err, "--image %s", d)
		}
		refs[t] = img.img
	} else {
		dg, err := name.NewDigest("scratchpack@" + img.Digest)
		if err != nil {
			return errors.Wrapf(err, "--image %s", d)
		}
		refs[dg] = img.img
	}
	f, err := atomicfile.Create(d.Path, 0o644)
	if err != nil {
		return errors.WithMessagef(err, "--image %s", d)
	}
	defer f.Abort()
	if err := ggtarball.MultiRefWrite(refs, f); err != nil {
		return errors.Wrapf(err, "--image %s: writing %s", d, d.Path)
	}
	return f.Commit()
}

// push uploads the layer and the config, then puts the manifest by tag:
// the tag never points at an image whose blobs are not all there.
func push(ctx context.Context, img *Image, d Dest, o Options) (string, error) {
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	tag, err := name.NewTag(d.Tag, nopts...)
	if err != nil {
		return "", errors.Wrapf(err, "--image %s", d)
	}
	reg := tag.RegistryStr()
	ropts := RemoteOptions(ctx, o)
	var done chan struct{}
	if o.Progress != nil {
		updates := make(chan v1.Update, 16)
		done = make(chan struct{})
		ropts = append(ropts, remote.WithProgress(updates))
		start := time.Now()
		go func() {
			defer close(done)
			var last v1.Update
			for u := range updates {
				if u.Error != nil {
					continue
				}
				last = u
				o.Progress(Progress{Dest: d, Complete: u.Complete, Total: u.Total, Elapsed: time.Since(start)})
			}
			o.Progress(Progress{Dest: d, Complete: last.Complete, Total: last.Total, Elapsed: time.Since(start), Done: true})
		}()
	}
	err = remote.Write(tag, img.img, ropts...)
	if done != nil {
		<-done
	}
	if err != nil {
		return "", registryError(d, reg, err)
	}
	return tag.Context().Name() + "@" + img.Digest, nil
}

// registryError says what went wrong with the registry, by name.
func registryError(d Dest, reg string, err error) error {
	what := RegistryProblem(err)
	if what == "" {
		what = "push failed"
	}
	return errors.Wrapf(err, "registry %s: %s; the tag was not changed (--image %s)", reg, what, d)
}

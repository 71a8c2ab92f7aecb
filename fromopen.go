package scratchpack

// STOP-GAP until image/source (branch pull, issue 23 items 1, 2 and 5)
// lands: a minimal Open behind the same shape (SourceImage), so that the
// run and the result can be built and tested. It flattens the layers
// with go-containerregistry's mutate.Extract and unpacks the result with
// the hardened tarball.Extract (device nodes left out); it has none of
// the image side's layer applier, progress or error checks. This file is
// deleted when build --from switches to image/source.Open.

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/tarball"
)

// openSourceStopGap opens the image of o.Ref into a cached root.
func openSourceStopGap(ctx context.Context, o FromOptions) (*SourceImage, error) {
	cache := o.CacheDir
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "scratchpack")
	}
	refKey := sha256.Sum256([]byte(strings.TrimPrefix(o.Ref, "docker://") + "\x00" + o.Platform))
	refFile := filepath.Join(cache, "refs", hex.EncodeToString(refKey[:])+".json")
	if data, err := os.ReadFile(refFile); err == nil {
		var si SourceImage
		if json.Unmarshal(data, &si) == nil {
			if _, err := os.Stat(filepath.Join(si.Root, ".")); err == nil {
				return &si, nil // no network: the ref was seen, its root is there
			}
		}
	}
	img, name, err := stopGapImage(ctx, o)
	if err != nil {
		return nil, errors.WithMessagef(err, "opening the image %s", o.Ref)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, errors.Wrapf(err, "reading the image %s", o.Ref)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, errors.Wrapf(err, "reading the config of the image %s", o.Ref)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, errors.Wrapf(err, "reading the layers of the image %s", o.Ref)
	}
	si := &SourceImage{Ref: o.Ref, Name: name, Digest: digest.String(), Config: *cf}
	for _, l := range layers {
		s, err := l.Size()
		if err != nil {
			return nil, errors.Wrapf(err, "reading the layers of the image %s", o.Ref)
		}
		si.Size += s
	}
	si.Root = filepath.Join(cache, "roots", digest.Hex)
	if _, err := os.Stat(si.Root); err != nil {
		if err := os.MkdirAll(filepath.Dir(si.Root), 0o755); err != nil {
			return nil, errors.Wrap(err, "creating the cache")
		}
		tmp, err := os.MkdirTemp(filepath.Dir(si.Root), ".tmp-")
		if err != nil {
			return nil, errors.Wrap(err, "creating the cache")
		}
		defer os.RemoveAll(tmp)
		if err := stopGapUnpack(ctx, img, tmp); err != nil {
			return nil, errors.WithMessagef(err, "unpacking the image %s", o.Ref)
		}
		if err := os.Rename(tmp, si.Root); err != nil {
			return nil, errors.Wrap(err, "storing the root in the cache")
		}
	}
	si.RootSize = dirSize(si.Root)
	if err := os.MkdirAll(filepath.Dir(refFile), 0o755); err == nil {
		data, _ := json.Marshal(si)
		os.WriteFile(refFile, data, 0o644)
	}
	return si, nil
}

func stopGapImage(ctx context.Context, o FromOptions) (v1.Image, string, error) {
	ref := o.Ref
	switch {
	case strings.HasPrefix(ref, "oci:"):
		dir, tag, _ := strings.Cut(strings.TrimPrefix(ref, "oci:"), ":")
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			return nil, "", errors.Wrapf(err, "reading the OCI layout %s", dir)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, "", errors.Wrapf(err, "reading the OCI layout %s", dir)
		}
		for _, m := range im.Manifests {
			if tag == "" || m.Annotations["org.opencontainers.image.ref.name"] == tag {
				img, err := idx.Image(m.Digest)
				return img, ref, errors.Wrapf(err, "reading the OCI layout %s", dir)
			}
		}
		return nil, "", errors.Errorf("the OCI layout %s has no image tagged %q", dir, tag)
	case strings.HasPrefix(ref, "docker-archive:"):
		rest := strings.TrimPrefix(ref, "docker-archive:")
		file, tagStr, _ := strings.Cut(rest, ":")
		var tag *name.Tag
		if tagStr != "" {
			t, err := name.NewTag(tagStr)
			if err != nil {
				return nil, "", errors.Wrapf(err, "%s: bad NAME:TAG", ref)
			}
			tag = &t
		}
		img, err := ggtarball.ImageFromPath(file, tag)
		return img, ref, errors.Wrapf(err, "reading the archive %s", file)
	}
	ref = strings.TrimPrefix(ref, "docker://")
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, "", errors.Wrapf(err, "%s: expected REGISTRY/REPO:TAG", ref)
	}
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if o.Platform != "" {
		pp, err := v1.ParsePlatform(o.Platform)
		if err != nil {
			return nil, "", errors.Wrapf(err, "--platform %s", o.Platform)
		}
		p = *pp
	}
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithPlatform(p))
	return img, r.Name(), err
}

// stopGapUnpack flattens the layers and extracts them into dir.
func stopGapUnpack(ctx context.Context, img v1.Image, dir string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	pr, pw := io.Pipe()
	go func() {
		// device nodes (a debootstrap base has /dev's) are left out
		tr := tar.NewReader(rc)
		tw := tar.NewWriter(pw)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				pw.CloseWithError(tw.Close())
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock || h.Typeflag == tar.TypeFifo {
				continue
			}
			if err := tw.WriteHeader(h); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(tw, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	r, err := tarball.NewReader(pr)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	defer r.Close()
	return tarball.Extract(ctx, r, dir, tarball.ExtractOptions{Owners: true})
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

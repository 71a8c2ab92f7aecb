package source

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/image"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
)

// resolveRemote asks the registry for the image (the platform's, from an
// index).
func (op *opener) resolveRemote(ctx context.Context, p parsed) (*resolved, error) {
	reg := p.ref.Context().RegistryStr()
	ropts := image.RemoteOptions(ctx, image.Options{Insecure: op.o.Insecure, Keychain: op.o.Keychain, Transport: op.o.Transport})
	desc, err := remote.Get(p.ref, ropts...)
	if err != nil {
		return nil, registryError(reg, err)
	}
	var img v1.Image
	digest := desc.Digest
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, registryError(reg, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, registryError(reg, err)
		}
		d, err := pickPlatform(im, op.want, op.o.Platform != "")
		if err != nil {
			return nil, err
		}
		if img, err = idx.Image(d.Digest); err != nil {
			return nil, registryError(reg, err)
		}
		digest = d.Digest
	} else if img, err = desc.Image(); err != nil {
		return nil, registryError(reg, err)
	}
	res, err := resolveImage(img, digest)
	if err != nil {
		return nil, registryError(reg, err)
	}
	res.name = shortName(p.ref)
	ls, err := img.Layers()
	if err != nil {
		return nil, registryError(reg, err)
	}
	for i := range res.layers {
		l, blob := ls[i], op.cache.blob(res.layers[i].digest)
		res.layers[i].open = func() (readCloser, error) { return os.Open(blob) }
		res.layers[i].fetch = func(ctx context.Context, count func(int64)) error {
			if _, err := os.Stat(blob); err == nil {
				count(res.layers[i].size)
				return nil
			}
			return errors.WithMessagef(pull(l, blob, res.layers[i].digest, count), "registry %s", reg)
		}
	}
	return res, nil
}

// pull copies a layer into the cache, checking its digest before the
// blob takes its name.
func pull(l v1.Layer, blob string, digest v1.Hash, count func(int64)) error {
	rc, err := l.Compressed()
	if err != nil {
		return registryError("", err)
	}
	defer rc.Close()
	f, err := atomicfile.Create(blob, 0o600)
	if err != nil {
		return err
	}
	defer f.Abort()
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h, countWriter(count)), rc)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "digest") {
			return errors.Wrapf(err, "layer %s", digest)
		}
		return errors.Wrapf(err, "pulling the layer %s", digest)
	}
	if got := hexOf(h.Sum(nil)); got != digest.Hex {
		return errors.Errorf("layer %s: the registry sent bytes whose digest is sha256:%s: it does not match", digest, got)
	}
	return f.Commit()
}

type countWriter func(int64)

func (c countWriter) Write(p []byte) (int, error) { c(int64(len(p))); return len(p), nil }

// resolveImage reads the config and the layer descriptors of an image
// whose layers are stored compressed (a registry's or a layout's).
func resolveImage(img v1.Image, digest v1.Hash) (*resolved, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, errors.Wrap(err, "reading the config")
	}
	cf, err := v1.ParseConfigFile(strings.NewReader(string(raw)))
	if err != nil {
		return nil, errors.Wrap(err, "reading the config")
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, errors.Wrap(err, "reading the manifest")
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, errors.Wrap(err, "reading the manifest")
	}
	res := &resolved{digest: digest.String(), id: id.String(), config: cf, rawConfig: raw}
	for i, d := range m.Layers {
		if i >= len(cf.RootFS.DiffIDs) {
			break
		}
		if !d.MediaType.IsLayer() || strings.Contains(string(d.MediaType), "foreign") || strings.Contains(string(d.MediaType), "nondistributable") {
			return nil, errors.Errorf("layer %d (%s) is of type %s, which is not pulled", i+1, d.Digest, d.MediaType)
		}
		res.layers = append(res.layers, layer{digest: d.Digest, diffID: cf.RootFS.DiffIDs[i], size: d.Size})
	}
	if len(m.Layers) != len(cf.RootFS.DiffIDs) {
		return nil, errors.Errorf("the config lists %d layers, the manifest %d", len(cf.RootFS.DiffIDs), len(m.Layers))
	}
	return res, nil
}

// pickPlatform finds the image of the platform in an index.
func pickPlatform(im *v1.IndexManifest, want v1.Platform, asked bool) (v1.Descriptor, error) {
	var have []string
	for _, m := range im.Manifests {
		if m.Platform == nil || !m.MediaType.IsImage() || m.Platform.OS == "unknown" {
			continue
		}
		if matches(*m.Platform, want) {
			return m, nil
		}
		have = append(have, platformString(*m.Platform))
	}
	how := "this machine's platform"
	if asked {
		how = "the --platform asked"
	}
	if len(have) == 0 {
		return v1.Descriptor{}, errors.Errorf("the index names no image with a platform; %s is %s", how, platformString(want))
	}
	return v1.Descriptor{}, errors.Errorf("the index has no image for %s (%s); it has %s: --platform picks one", platformString(want), how, strings.Join(have, ", "))
}

// registryError says what went wrong with the registry, by name.
func registryError(reg string, err error) error {
	var te *transport.Error
	what := image.RegistryProblem(err)
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			what = "no such image: the repository or the tag is unknown"
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				what = "no such image: the repository or the tag is unknown"
			case transport.BlobUnknownErrorCode:
				what = "a layer of the image is missing from the registry"
			}
		}
	}
	if what == "" {
		what = "pull failed"
	}
	if reg == "" {
		return errors.Wrap(err, what)
	}
	return errors.Wrapf(err, "registry %s: %s", reg, what)
}

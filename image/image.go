package image

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pkg/errors"
)

// Image is a one-layer OCI image.
type Image struct {
	img    v1.Image
	Layer  *Layer
	Digest string // the manifest's sha256
	Config *v1.ConfigFile
}

// History's created_by: what made the layer.
const createdBy = "scratchpack: the files one program needs"

// New makes the image: the layer as it is, the config, and the OCI
// manifest with the org.opencontainers.image.* labels as annotations.
func New(layer *Layer, c Config) (*Image, error) {
	cf, annotations, err := c.configFile()
	if err != nil {
		return nil, err
	}
	l, err := layer.l.layer()
	if err != nil {
		return nil, errors.Wrap(err, "making the layer")
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     l,
		MediaType: layer.l.mediaType,
		History:   v1.History{Created: cf.Created, CreatedBy: createdBy},
	})
	if err != nil {
		return nil, errors.Wrap(err, "adding the layer")
	}
	// Keep the rootfs and history that Append filled in, set the rest.
	withLayer, err := img.ConfigFile()
	if err != nil {
		return nil, errors.Wrap(err, "reading the image config")
	}
	cf.RootFS, cf.History = withLayer.RootFS, withLayer.History
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, errors.Wrap(err, "writing the image config")
	}
	if len(annotations) > 0 {
		img = mutate.Annotations(img, annotations).(v1.Image)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, errors.Wrap(err, "computing the image digest")
	}
	return &Image{img: img, Layer: layer, Digest: d.String(), Config: cf}, nil
}

// RawManifest returns the manifest's bytes.
func (i *Image) RawManifest() ([]byte, error) { return i.img.RawManifest() }

// RawConfig returns the config's bytes.
func (i *Image) RawConfig() ([]byte, error) { return i.img.RawConfigFile() }

// files are the digests of the image's blobs: manifest, config, layer.
func (i *Image) files() []string {
	cfg, _ := i.img.ConfigName()
	return []string{i.Digest, cfg.String(), i.Layer.Digest()}
}

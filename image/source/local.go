package source

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	ggtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/pkg/errors"
)

// refNameAnnotation tags an image in an OCI layout's index.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// resolveLayout finds the image in an OCI layout: the one tagged p.tag,
// or the only one (the platform's, when the index or a nested index
// holds several).
func (op *opener) resolveLayout(p parsed) (*resolved, error) {
	if _, err := os.Stat(path.Join(p.path, "index.json")); err != nil {
		return nil, errors.Wrapf(err, "no OCI layout at %s", p.path)
	}
	idx, err := layout.ImageIndexFromPath(p.path)
	if err != nil {
		return nil, errors.Wrapf(err, "reading the OCI layout %s", p.path)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, errors.Wrapf(err, "reading the OCI layout %s", p.path)
	}
	var cands []v1.Descriptor
	var tags []string
	for _, m := range im.Manifests {
		if t := m.Annotations[refNameAnnotation]; t != "" {
			tags = append(tags, t)
		}
		if p.tag == "" || m.Annotations[refNameAnnotation] == p.tag {
			cands = append(cands, m)
		}
	}
	switch {
	case len(cands) == 0 && p.tag != "":
		return nil, errors.Errorf("the OCI layout %s has no image tagged %q (its tags: %s)", p.path, p.tag, strings.Join(tags, ", "))
	case len(cands) == 0:
		return nil, errors.Errorf("the OCI layout %s holds no image", p.path)
	}
	var d v1.Descriptor
	if len(cands) == 1 {
		d = cands[0]
	} else if d, err = pickPlatform(&v1.IndexManifest{Manifests: cands}, op.want, op.o.Platform != ""); err != nil {
		return nil, errors.WithMessagef(err, "the OCI layout %s holds %d images (name one with oci:%s:TAG)", p.path, len(cands), p.path)
	}
	if d.MediaType.IsIndex() {
		sub, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, errors.Wrapf(err, "reading the OCI layout %s", p.path)
		}
		sim, err := sub.IndexManifest()
		if err != nil {
			return nil, errors.Wrapf(err, "reading the OCI layout %s", p.path)
		}
		if d, err = pickPlatform(sim, op.want, op.o.Platform != ""); err != nil {
			return nil, err
		}
		idx = sub
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return nil, errors.Wrapf(err, "reading the image %s in the OCI layout %s", d.Digest, p.path)
	}
	res, err := resolveImage(img, d.Digest)
	if err != nil {
		return nil, errors.WithMessagef(err, "the OCI layout %s", p.path)
	}
	for i := range res.layers {
		blob := path.Join(p.path, "blobs", res.layers[i].digest.Algorithm, res.layers[i].digest.Hex)
		res.layers[i].open = func() (readCloser, error) { return os.Open(blob) }
	}
	return res, nil
}

// resolveArchive finds the image in a docker save file: the one tagged
// p.tag (NAME:TAG), or the only one. Its layers are read in place.
func (op *opener) resolveArchive(p parsed) (*resolved, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return nil, errors.Wrap(err, "opening the archive")
	}
	defer f.Close()
	files, err := indexArchive(f)
	if err != nil {
		return nil, errors.WithMessagef(err, "reading the archive %s", p.path)
	}
	read := func(n string) ([]byte, error) {
		e, err := files.find(n)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(io.NewSectionReader(f, e.offset, e.size))
	}
	data, err := read("manifest.json")
	if err != nil {
		return nil, errors.WithMessagef(err, "%s is not a docker-archive (docker save, podman save)", p.path)
	}
	var m ggtarball.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, errors.Wrapf(err, "%s: reading manifest.json", p.path)
	}
	var desc *ggtarball.Descriptor
	var tags []string
	for i := range m {
		tags = append(tags, m[i].RepoTags...)
		for _, t := range m[i].RepoTags {
			if p.tag != "" && sameTag(t, p.tag) {
				desc = &m[i]
			}
		}
	}
	switch {
	case p.tag != "" && desc == nil:
		return nil, errors.Errorf("the archive %s has no image tagged %q (its tags: %s)", p.path, p.tag, strings.Join(tags, ", "))
	case p.tag == "" && len(m) != 1:
		return nil, errors.Errorf("the archive %s holds %d images: name one with docker-archive:%s:NAME:TAG (its tags: %s)", p.path, len(m), p.path, strings.Join(tags, ", "))
	case desc == nil:
		desc = &m[0]
	}
	raw, err := read(desc.Config)
	if err != nil {
		return nil, errors.WithMessagef(err, "%s: the config", p.path)
	}
	cf, err := v1.ParseConfigFile(strings.NewReader(string(raw)))
	if err != nil {
		return nil, errors.Wrapf(err, "%s: reading the config %s", p.path, desc.Config)
	}
	sum := sha256.Sum256(raw)
	id := "sha256:" + hexOf(sum[:])
	res := &resolved{digest: id, id: id, config: cf, rawConfig: raw}
	if len(desc.RepoTags) > 0 {
		if t, err := name.NewTag(desc.RepoTags[0]); err == nil {
			res.name = shortName(t)
		}
	}
	if p.tag != "" {
		if t, err := name.NewTag(p.tag); err == nil {
			res.name = shortName(t)
		}
	}
	if len(desc.Layers) != len(cf.RootFS.DiffIDs) {
		return nil, errors.Errorf("%s: the config lists %d layers, manifest.json %d", p.path, len(cf.RootFS.DiffIDs), len(desc.Layers))
	}
	archive := p.path
	for i, ln := range desc.Layers {
		e, err := files.find(ln)
		if err != nil {
			return nil, errors.WithMessagef(err, "%s: layer %d", p.path, i+1)
		}
		res.layers = append(res.layers, layer{diffID: cf.RootFS.DiffIDs[i], size: e.size, open: func() (readCloser, error) {
			f, err := os.Open(archive)
			if err != nil {
				return nil, errors.Wrap(err, "opening the archive")
			}
			return struct {
				io.Reader
				io.Closer
			}{io.NewSectionReader(f, e.offset, e.size), f}, nil
		}})
	}
	return res, nil
}

// sameTag compares two NAME:TAG, docker.io/library/ or not.
func sameTag(a, b string) bool {
	ta, err1 := name.NewTag(a)
	tb, err2 := name.NewTag(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return ta.Name() == tb.Name()
}

// archiveEntry is a file of an archive, in place.
type archiveEntry struct {
	offset, size int64
	link         string // a symlink's or hardlink's target, as a name in the archive
}

type archiveIndex map[string]archiveEntry

// indexArchive finds where each file of a tar file is, seeking over the
// contents.
func indexArchive(f *os.File) (archiveIndex, error) {
	out := archiveIndex{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		n := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeReg:
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			out[n] = archiveEntry{offset: off, size: h.Size}
		case tar.TypeSymlink:
			out[n] = archiveEntry{link: path.Join(path.Dir(n), h.Linkname)}
		case tar.TypeLink:
			out[n] = archiveEntry{link: path.Clean(h.Linkname)}
		}
	}
}

// find returns the file n, through links.
func (a archiveIndex) find(n string) (archiveEntry, error) {
	n = path.Clean(n)
	for range 16 {
		e, ok := a[n]
		if !ok {
			return e, errors.Errorf("no %s in the archive", n)
		}
		if e.link == "" {
			return e, nil
		}
		n = e.link
	}
	return archiveEntry{}, errors.Errorf("%s: too many links in the archive", n)
}

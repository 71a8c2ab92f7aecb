package source

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/image"
)

// resolved is an image found in its source: its config and how to read
// its layers.
type resolved struct {
	name, digest, id string
	config           *v1.ConfigFile
	rawConfig        []byte
	layers           []layer
}

// layer is one layer as its source stores it.
type layer struct {
	digest v1.Hash // of the stored bytes; zero when the source does not say (docker-archive)
	diffID v1.Hash // of the uncompressed tar, from the config
	size   int64   // stored bytes
	// open reads the stored bytes (compressed or not).
	open func() (readCloser, error)
	// fetch, for a registry's layer, pulls it into the cache first.
	fetch func(ctx context.Context, count func(int64)) error
}

type readCloser interface {
	Read([]byte) (int, error)
	Close() error
}

// opener is one Open.
type opener struct {
	ref   string
	o     Options
	cache *cache
	want  v1.Platform
	prog  *progress
}

// Open finds the image ref names (docker://REF, REGISTRY/REPO[:TAG|@DIGEST],
// oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG]), pulls the layers the
// cache lacks and applies them into a root, unless the cache holds it.
// Every error names the image.
func Open(ctx context.Context, ref string, o Options) (*Image, error) {
	p, err := parseRef(ref, o.Insecure)
	if err != nil {
		return nil, err
	}
	want, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, errors.WithMessagef(err, "--from %s", ref)
	}
	switch o.Pull {
	case "", PullMissing, PullAlways, PullNever:
	default:
		return nil, errors.Errorf("--from %s: --pull %q: expected missing, always or never", ref, o.Pull)
	}
	op := &opener{ref: ref, o: o, want: want, prog: newProgress(ref, o.Progress)}
	img, err := op.open(ctx, p)
	if err != nil {
		return nil, op.fail(err)
	}
	return img, nil
}

func (op *opener) open(ctx context.Context, p parsed) (*Image, error) {
	c, err := openCache(op.o.CacheDir)
	if err != nil {
		return nil, err
	}
	op.cache = c
	key := string(p.transport) + "\x00" + op.refKey(p) + "\x00" + platformString(op.want)
	if p.transport == image.Registry && op.o.Pull != PullAlways {
		if img := op.fromRecord(c.loadRef(key)); img != nil {
			op.prog.done()
			return img, nil
		}
		if op.o.Pull == PullNever {
			return nil, errors.Errorf("not in the cache %s, and --pull never forbids asking the registry", c.dir)
		}
	}
	var res *resolved
	switch p.transport {
	case image.Registry:
		res, err = op.resolveRemote(ctx, p)
	case image.OCI:
		res, err = op.resolveLayout(p)
	case image.DockerArchive:
		res, err = op.resolveArchive(p)
	}
	if err != nil {
		return nil, err
	}
	if err := op.checkPlatform(res.config); err != nil {
		return nil, err
	}
	if len(res.config.RootFS.DiffIDs) != len(res.layers) {
		return nil, errors.Errorf("the config lists %d layers, the manifest %d", len(res.config.RootFS.DiffIDs), len(res.layers))
	}
	chain := chainID(res.config.RootFS.DiffIDs)
	img := &Image{
		Ref: op.ref, Name: res.name, Digest: res.digest, ID: res.id,
		Platform: platformString(*res.config.Platform()),
		Config:   *res.config,
		Root:     c.root(chain),
		Cached:   true,
	}
	for _, l := range res.layers {
		img.Size += l.size
	}
	meta, ok := c.loadRootMeta(chain)
	if !ok {
		img.Cached = false
		if meta, err = op.apply(ctx, res, img.Root, img.Size); err != nil {
			return nil, err
		}
	}
	op.prog.done()
	img.RootSize, img.Skipped = meta.RootSize, meta.Skipped
	if p.transport == image.Registry {
		rec := &refRecord{Name: img.Name, Digest: img.Digest, ID: img.ID, Platform: img.Platform, Size: img.Size, Chain: chain.String(), Config: res.rawConfig}
		if err := c.saveRef(key, rec); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// refKey is what a record of a registry image is known by.
func (op *opener) refKey(p parsed) string {
	if p.ref != nil {
		return p.ref.Name()
	}
	return p.path + "\x00" + p.tag
}

// fromRecord is the image a ref record describes, when its root is in
// the cache; or nil.
func (op *opener) fromRecord(r *refRecord) *Image {
	if r == nil {
		return nil
	}
	chain, err := v1.NewHash(r.Chain)
	if err != nil {
		return nil
	}
	meta, ok := op.cache.loadRootMeta(chain)
	if !ok {
		return nil
	}
	var cf v1.ConfigFile
	if json.Unmarshal(r.Config, &cf) != nil {
		return nil
	}
	return &Image{
		Ref: op.ref, Name: r.Name, Digest: r.Digest, ID: r.ID, Platform: r.Platform,
		Config: cf, Size: r.Size, RootSize: meta.RootSize, Skipped: meta.Skipped,
		Root: op.cache.root(chain), Cached: true,
	}
}

// checkPlatform refuses an image that is not for the platform asked
// (an image that does not say is taken as it is).
func (op *opener) checkPlatform(cf *v1.ConfigFile) error {
	got := cf.Platform()
	if got == nil || got.OS == "" || got.Architecture == "" {
		return nil
	}
	if !matches(*got, op.want) {
		how := "this machine's"
		if op.o.Platform != "" {
			how = "the --platform asked"
		}
		return errors.Errorf("the image is for %s, not %s (%s)", platformString(*got), platformString(op.want), how)
	}
	return nil
}

// fail names the image in an error, and says so when the disk is full.
func (op *opener) fail(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		dir := op.o.CacheDir
		if op.cache != nil {
			dir = op.cache.dir
		}
		return errors.Wrapf(err, "--from %s: the disk holding the cache %s is full (free some space, or point --cache-dir elsewhere); the cache keeps no partial entry", op.ref, dir)
	}
	return errors.WithMessagef(err, "--from %s", op.ref)
}

// chainID is the OCI chain ID of the layers: the identity of the root
// they make.
func chainID(diffIDs []v1.Hash) v1.Hash {
	if len(diffIDs) == 0 {
		sum := sha256.Sum256(nil)
		return v1.Hash{Algorithm: "sha256", Hex: hexOf(sum[:])}
	}
	chain := diffIDs[0]
	for _, d := range diffIDs[1:] {
		sum := sha256.Sum256([]byte(chain.String() + " " + d.String()))
		chain = v1.Hash{Algorithm: "sha256", Hex: hexOf(sum[:])}
	}
	return chain
}

// removeIfNotRenamed removes a temporary entry on the way out.
func removeIfNotRenamed(tmp string, renamed *bool) {
	if !*renamed {
		os.RemoveAll(tmp)
	}
}

package source

import (
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Options say how Open finds, pulls and keeps an image.
type Options struct {
	// Platform picks the image of an index: "os/arch[/variant]"; "" is
	// the host's (linux/GOARCH).
	Platform string
	// CacheDir keeps pulled layers and applied roots; "" is
	// $XDG_CACHE_HOME/scratchpack, or ~/.cache/scratchpack.
	CacheDir string
	// Insecure allows plain http and TLS certificates that do not verify
	// (--insecure-registry), as for --image.
	Insecure bool
	// Keychain finds registry credentials; default authn.DefaultKeychain,
	// as for --image.
	Keychain authn.Keychain
	// Pull says when a registry is asked for a tag the cache already
	// knows: PullMissing (the default, as podman run: never), PullAlways,
	// PullNever (no network at all: the image must be in the cache).
	Pull PullPolicy
	// Progress, when set, receives the progress of the pull and of the
	// layers' application. It is called from the goroutine of Open.
	Progress func(Progress)
	// Transport, when set, carries the registry's requests (tests).
	Transport http.RoundTripper
}

// PullPolicy says when Open asks a registry again.
type PullPolicy string

// Pull policies, by podman's names.
const (
	PullMissing PullPolicy = "missing"
	PullAlways  PullPolicy = "always"
	PullNever   PullPolicy = "never"
)

// Progress of an Open: compressed bytes of the layers pulled from the
// registry or read from the layout or archive, and layers applied.
type Progress struct {
	Ref             string // the image as given
	Complete, Total int64  // compressed layer bytes
	Layer, Layers   int    // layers applied so far, out of Layers
	Elapsed         time.Duration
	Done            bool
}

// Image is an opened image: its config and its applied root.
type Image struct {
	Ref  string // as given
	Name string // normalised, for org.opencontainers.image.base.name ("" for an untagged layout or archive)
	// Digest is the manifest's digest (org.opencontainers.image.base.digest);
	// for a docker-archive, which holds no manifest, it is the config's
	// digest (the image ID).
	Digest   string
	ID       string // the config's digest (the image ID that podman images shows)
	Platform string // os/arch[/variant] of the image, as its config says ("" when it does not)
	Config   v1.ConfigFile
	Size     int64 // the layers' compressed size, as stored (the "original size")
	RootSize int64 // bytes of regular files in the applied root, each inode once
	// Root is the applied root directory. It is in the cache, keyed by
	// the layers' chain ID, and shared by every Open of the same layers:
	// it is READ-ONLY (mount it read-only, or copy it, to run in it).
	Root string
	// Skipped are the entries that were not made, with why: device
	// nodes ("dev/null: character device 1,3 not created").
	Skipped []string
	// Cached is true when nothing was pulled nor applied.
	Cached bool
}

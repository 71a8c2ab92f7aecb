package source

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/atomicfile"
)

// cache is the cache directory:
//
//	blobs/sha256/HEX        compressed layers pulled from registries
//	roots/sha256/HEX/       applied roots, by the chain ID of their layers
//	roots/sha256/HEX.json   what applying found (rootMeta)
//	refs/HEX.json           what a registry name pointed at (refRecord)
//
// It is 0700: roots hold the images' setuid programs, which other users
// of the machine must not reach.
type cache struct{ dir string }

func openCache(dir string) (*cache, error) {
	if dir == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, errors.Wrap(err, "finding the cache directory (set --cache-dir or XDG_CACHE_HOME)")
			}
			base = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(base, "scratchpack")
	}
	c := &cache{dir: dir}
	for _, d := range []string{dir, c.path("blobs", "sha256"), c.path("roots", "sha256"), c.path("refs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, errors.Wrap(err, "creating the cache directory")
		}
	}
	if err := os.Chmod(c.path("roots"), 0o700); err != nil {
		return nil, errors.Wrap(err, "securing the cache directory")
	}
	c.sweep()
	return c, nil
}

func (c *cache) path(parts ...string) string {
	return filepath.Join(append([]string{c.dir}, parts...)...)
}

// blob is where a compressed layer is kept.
func (c *cache) blob(d v1.Hash) string { return c.path("blobs", d.Algorithm, d.Hex) }

// root is where the root of the layers of chain ID chain is kept.
func (c *cache) root(chain v1.Hash) string { return c.path("roots", chain.Algorithm, chain.Hex) }

// tempDir is a directory for an entry being made, beside where it goes.
func (c *cache) tempDir(final string) (string, error) {
	d, err := os.MkdirTemp(filepath.Dir(final), "."+filepath.Base(final)+".tmp-")
	return d, errors.Wrap(err, "creating a directory in the cache")
}

// sweep removes the temporary entries that a killed Open left (an error
// or a cancelled context removes its own), once a day old.
func (c *cache) sweep() {
	for _, d := range []string{c.path("blobs", "sha256"), c.path("roots", "sha256")} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") || !strings.Contains(e.Name(), ".tmp-") {
				continue
			}
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
				os.RemoveAll(filepath.Join(d, e.Name()))
			}
		}
	}
}

// rootMeta is what applying the layers found, beside the root.
type rootMeta struct {
	RootSize int64    `json:"rootSize"`
	Skipped  []string `json:"skipped,omitempty"`
}

// refRecord is an opened registry image, by the name it was opened with
// and the platform.
type refRecord struct {
	Name     string          `json:"name"`
	Digest   string          `json:"digest"`
	ID       string          `json:"id"`
	Platform string          `json:"platform"`
	Size     int64           `json:"size"`
	Chain    string          `json:"chain"`
	Config   json.RawMessage `json:"config"`
}

func (c *cache) refPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return c.path("refs", hex.EncodeToString(sum[:])+".json")
}

// loadRef returns the record of key, or nil.
func (c *cache) loadRef(key string) *refRecord {
	data, err := os.ReadFile(c.refPath(key))
	if err != nil {
		return nil
	}
	var r refRecord
	if json.Unmarshal(data, &r) != nil {
		return nil
	}
	return &r
}

func (c *cache) saveRef(key string, r *refRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return errors.Wrap(err, "recording the image in the cache")
	}
	return errors.WithMessage(atomicfile.WriteFile(c.refPath(key), data, 0o600), "recording the image in the cache")
}

func (c *cache) loadRootMeta(chain v1.Hash) (*rootMeta, bool) {
	if st, err := os.Stat(c.root(chain)); err != nil || !st.IsDir() {
		return nil, false
	}
	data, err := os.ReadFile(c.root(chain) + ".json")
	if err != nil {
		return nil, false
	}
	var m rootMeta
	if json.Unmarshal(data, &m) != nil {
		return nil, false
	}
	return &m, true
}

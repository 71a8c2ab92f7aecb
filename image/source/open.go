package source

import (
	"context"

	"github.com/pkg/errors"
)

// Open finds the image ref names (docker://REF, REGISTRY/REPO[:TAG|@DIGEST],
// oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG]), pulls the layers the
// cache lacks and applies them into a root, unless the cache holds it.
// Every error names the image.
func Open(ctx context.Context, ref string, o Options) (*Image, error) {
	return nil, errors.Errorf("--from %s: not implemented yet", ref)
}

package rootpath_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// Resolve follows symlinks inside the root as the kernel would inside a
// chroot: an absolute target starts again at the root, and ".." stops
// there, so nothing it returns lies outside the root.
func ExampleResolver_Resolve() {
	root, err := os.MkdirTemp("", "example-root")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/lib/libc.so.6"), nil, 0o644)
	os.Symlink("usr/lib", filepath.Join(root, "lib"))                    // relative
	os.Symlink("/lib/libc.so.6", filepath.Join(root, "usr/lib/libc.so")) // absolute: inside the root
	os.Symlink("../../../../etc", filepath.Join(root, "usr/etc"))        // climbs no higher than the root

	r, err := rootpath.New(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range []string{"/lib/libc.so", "/usr/etc/passwd"} {
		res, err := r.Resolve(p, true)
		for _, l := range res.Links {
			fmt.Printf("  %s -> %s\n", l.Path, l.Target)
		}
		if err != nil {
			var re *rootpath.Error
			fmt.Printf("%s: stopped at %s, not found: %v\n", p, res.Path, errors.As(err, &re) && errors.Is(err, fs.ErrNotExist))
			continue
		}
		fmt.Printf("%s is %s, at root+%s on the host: %v\n", p, res.Path, res.Path, r.HostPath(res.Path) == filepath.Join(root, res.Path))
	}
	// Output:
	//   /lib -> usr/lib
	//   /usr/lib/libc.so -> /lib/libc.so.6
	//   /lib -> usr/lib
	// /lib/libc.so is /usr/lib/libc.so.6, at root+/usr/lib/libc.so.6 on the host: true
	//   /usr/etc -> ../../../../etc
	// /usr/etc/passwd: stopped at /etc, not found: true
}

package secrets

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Packaged knows the files that Debian packages installed in a root
// filesystem, with their MD5 sums (/var/lib/dpkg/info/*.md5sums). A file
// that a package installed and nobody changed holds what the package
// holds, which anyone can download: a private key in it is a test vector
// (libgnutls carries a few for its self-tests), not a secret of the
// builder. It reads the sums the first time it is asked.
type Packaged struct {
	root string
	once sync.Once
	sums map[string]string // absolute path in the root -> md5 hex
}

// NewPackaged returns the packaged files of root ("" or "/": the host).
func NewPackaged(root string) *Packaged {
	if root == "" {
		root = "/"
	}
	return &Packaged{root: root}
}

// Unmodified reports whether p (an absolute path inside the root, read
// at host) is a file of a package, with the content the package gave
// it. Any doubt (no dpkg database, a file it cannot read) says false.
func (pk *Packaged) Unmodified(p, host string) bool {
	pk.once.Do(pk.load)
	want, ok := pk.sums[p]
	if !ok && strings.HasPrefix(p, "/usr/") {
		want, ok = pk.sums[strings.TrimPrefix(p, "/usr")] // packages that list /lib, /bin of a merged /usr
	}
	if !ok {
		return false
	}
	f, err := os.OpenFile(host, os.O_RDONLY|oNOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == want
}

func (pk *Packaged) load() {
	pk.sums = map[string]string{}
	lists, _ := filepath.Glob(filepath.Join(pk.root, "var/lib/dpkg/info/*.md5sums"))
	for _, name := range lists {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			// "d29412447670fa5cd39cfc88a213606b  usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3"
			sum, path, ok := strings.Cut(sc.Text(), "  ")
			if ok && len(sum) == 32 && path != "" {
				pk.sums["/"+strings.TrimPrefix(path, "/")] = sum
			}
		}
		f.Close()
	}
}

const oNOFOLLOW = syscall.O_NOFOLLOW

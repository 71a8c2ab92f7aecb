package secrets

import (
	"bytes"
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
	// sums holds every *.md5sums file of the root, one after the other:
	// "d29412447670fa5cd39cfc88a213606b  usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3\n".
	// A lookup searches it (a few ms); few files have findings, and a map
	// of every packaged file would cost more than all the lookups.
	sums []byte
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
	want, ok := pk.sum(p)
	if !ok && strings.HasPrefix(p, "/usr/") {
		want, ok = pk.sum(strings.TrimPrefix(p, "/usr")) // packages that list /lib, /bin of a merged /usr
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

// sum finds the md5 sum of p in the sums: the line "SUM  p\n".
func (pk *Packaged) sum(p string) (string, bool) {
	needle := []byte("  " + strings.TrimPrefix(p, "/") + "\n")
	data := pk.sums
	for {
		i := bytes.Index(data, needle)
		if i < 0 {
			return "", false
		}
		start := bytes.LastIndexByte(data[:i], '\n') + 1
		if i-start == 32 {
			return string(data[start:i]), true
		}
		data = data[i+1:] // a path that ends with p
	}
}

func (pk *Packaged) load() {
	lists, _ := filepath.Glob(filepath.Join(pk.root, "var/lib/dpkg/info/*.md5sums"))
	for _, name := range lists {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		pk.sums = append(pk.sums, data...)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			pk.sums = append(pk.sums, '\n')
		}
	}
}

const oNOFOLLOW = syscall.O_NOFOLLOW

package secrets

import (
	"crypto/md5"
	"encoding/hex"
	"io"
	"os"
	"syscall"
)

// SumOf returns the md5 sum, in hex, that a package gave the file at p
// (an absolute path inside the root), and false when no package owns
// it: the package database's answer (pkgmeta.DB.PackagedMD5).
type SumOf func(p string) (string, bool)

// Packaged tells the files that a package installed and nobody changed:
// such a file holds what the package holds, which anyone can download,
// so a private key in it is a test vector (libgnutls carries a few for
// its self-tests), not a secret of the builder. The sums come from the
// package database; this only hashes the file.
type Packaged struct {
	sum SumOf
}

// NewPackaged returns the packaged files that sum knows (nil: none).
func NewPackaged(sum SumOf) *Packaged {
	return &Packaged{sum: sum}
}

// Unmodified reports whether p (an absolute path inside the root, read
// at host, never through a final symlink) is a file of a package, with
// the content the package gave it. Any doubt (no database, a file it
// cannot read) says false.
func (pk *Packaged) Unmodified(p, host string) bool {
	if pk == nil || pk.sum == nil {
		return false
	}
	want, ok := pk.sum(p)
	if !ok {
		return false
	}
	f, err := os.OpenFile(host, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
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

package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
)

// File is a pending output.
type File struct {
	*os.File
	target string
	perm   fs.FileMode
	done   bool
}

// Create starts writing target.
func Create(target string, perm fs.FileMode) (*File, error) {
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, errors.Wrapf(err, "creating a temporary file for %s", target)
	}
	return &File{File: f, target: target, perm: perm}, nil
}

// Commit syncs the data and renames it over the target.
func (f *File) Commit() error {
	if f.done {
		return errors.Errorf("%s: already committed or aborted", f.target)
	}
	f.done = true
	tmp := f.Name()
	fail := func(err error, what string) error {
		f.File.Close()
		os.Remove(tmp)
		return errors.Wrapf(err, "%s %s", what, f.target)
	}
	if err := f.Chmod(f.perm); err != nil {
		return fail(err, "setting the mode of")
	}
	if err := f.Sync(); err != nil {
		return fail(err, "writing")
	}
	if err := f.File.Close(); err != nil {
		os.Remove(tmp)
		return errors.Wrapf(err, "writing %s", f.target)
	}
	if err := os.Rename(tmp, f.target); err != nil {
		os.Remove(tmp)
		return errors.Wrapf(err, "renaming the temporary file to %s", f.target)
	}
	return nil
}

// Abort removes the temporary file. It is a no-op after Commit, so it
// can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// WriteFile writes data to target atomically.
func WriteFile(target string, data []byte, perm fs.FileMode) error {
	f, err := Create(target, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return errors.Wrapf(err, "writing %s", target)
	}
	return f.Commit()
}

package scratchpack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/secrets"
)

// SecretsMode says what Pack does with the secrets it finds in the files
// it packs (see package secrets).
type SecretsMode string

// Secrets modes.
const (
	SecretsWarn    SecretsMode = "warn"    // a warning for each (the default)
	SecretsFail    SecretsMode = "fail"    // warnings, then an error: nothing is written
	SecretsExclude SecretsMode = "exclude" // the files that hold them are left out
	SecretsOff     SecretsMode = "off"     // no scan
)

// ParseSecretsMode reads a --secrets value.
func ParseSecretsMode(s string) (SecretsMode, error) {
	switch m := SecretsMode(s); m {
	case SecretsWarn, SecretsFail, SecretsExclude, SecretsOff:
		return m, nil
	case "":
		return SecretsWarn, nil
	}
	return "", errors.Errorf("--secrets %q: expected warn, fail, exclude or off", s)
}

// SecretsError is what --secrets fail makes of the secrets found.
type SecretsError struct {
	Findings []secrets.Finding
}

func (e *SecretsError) Error() string {
	files := map[string]bool{}
	for _, f := range e.Findings {
		files[f.Path] = true
	}
	return fmt.Sprintf("%d secrets in %d files (%s first); --secrets fail refuses to pack them: leave the files out (--exclude, --secrets exclude) or --secrets warn",
		len(e.Findings), len(files), e.Findings[0])
}

// scanSecrets scans the regular files of the list and does what mode
// says with what it finds; it returns the findings. Files that a
// package installed unmodified (pkgs, from the package database) are
// public, whatever they hold.
func scanSecrets(ctx context.Context, l *filelist.List, mode SecretsMode, warn func(error), pkgs *secrets.Packaged) ([]secrets.Finding, error) {
	switch mode {
	case SecretsOff:
		return nil, nil
	case "":
		mode = SecretsWarn
	}
	var files []*filelist.Entry
	for _, e := range l.Entries {
		if e.Kind == filelist.File {
			files = append(files, e)
		}
	}
	found := make([][]secrets.Finding, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), 4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s secrets.Scanner
			for i := range next {
				found[i], errs[i] = scanEntry(&s, l.Root, files[i], pkgs)
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var all []secrets.Finding
	drop := map[string]bool{}
	for i, fs := range found {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, f := range fs {
			what := string(f.Kind)
			if f.Detail != "" {
				what += " (" + f.Detail + ")"
			}
			switch mode {
			case SecretsExclude:
				warn(errors.Errorf("left out %s: line %d holds a %s (--secrets exclude)", f.Path, f.Line, what))
			default:
				warn(errors.Errorf("%s:%d: a %s is packed (--secrets exclude leaves the file out, --secrets fail refuses to pack it)", f.Path, f.Line, what))
			}
		}
		if len(fs) > 0 {
			drop[files[i].Path] = true
		}
		all = append(all, fs...)
	}
	if len(all) > 0 && mode == SecretsFail {
		return all, &SecretsError{Findings: all}
	}
	if mode == SecretsExclude && len(drop) > 0 {
		kept := l.Entries[:0]
		for _, e := range l.Entries {
			if drop[e.Path] || e.Kind == filelist.Hardlink && drop[e.Target] {
				continue // the file, and its other names
			}
			kept = append(kept, e)
		}
		clear(l.Entries[len(kept):])
		l.Entries = kept
	}
	return all, nil
}

// packagedFiles tells the files the packages of db installed, unmodified
// (none without a database).
func packagedFiles(db *pkgmeta.DB) *secrets.Packaged {
	if db == nil {
		return secrets.NewPackaged(nil)
	}
	return secrets.NewPackaged(db.PackagedMD5)
}

// scanEntry scans one file of the list: its data, or the file under
// the root (never through a final symlink).
func scanEntry(s *secrets.Scanner, root string, e *filelist.Entry, pkgs *secrets.Packaged) ([]secrets.Finding, error) {
	if e.Data != nil {
		return s.Scan(bytes.NewReader(e.Data), e.Path)
	}
	host := e.Content
	if host == "" {
		host = hostPathIn(root, e.Path)
	}
	f, err := os.OpenFile(host, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, errors.Wrapf(err, "scanning %s for secrets", e.Path)
	}
	defer f.Close()
	found, err := s.Scan(f, e.Path)
	if err != nil {
		return nil, errors.WithMessage(err, "scanning for secrets")
	}
	if len(found) > 0 && e.Content == "" && pkgs.Unmodified(e.Path, host) {
		return nil, nil
	}
	return found, nil
}

func hostPathIn(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return strings.TrimRight(root, "/") + p
}

package scratchpack

import (
	"sort"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/filelist"
)

// What a program does to its files while it runs (issue 16): files it
// removes, directories it makes or writes into.

// maxRemovedNamed bounds the paths the note about removed files names.
const maxRemovedNamed = 8

// settleRemoved applies what the strace logs say about removed paths to
// the uses of every collector and run: a path the program removed is not
// needed as it was (a fanotify watch saw it opened before it was
// removed; an --exec read the pid file the server removes at exit). The
// files the program used and then removed are named in one note.
func settleRemoved(uses []collect.Use, warn func(error)) []collect.Use {
	removed := map[string]bool{}
	var deleted []string
	for _, u := range uses {
		if u.Source.Traced() && (u.Deleted || u.Gone) {
			removed[u.Path] = true
			if u.Deleted {
				deleted = append(deleted, u.Path)
			}
		}
	}
	if len(removed) == 0 {
		return uses
	}
	out := uses[:0]
	noted := map[string]bool{}
	for _, p := range deleted {
		noted[p] = true
	}
	for _, u := range uses {
		if u.Source.Traced() && removed[u.Path] {
			// removed by the traced processes of one run (the command,
			// an --exec): another run's use of it may find it gone
			u.Gone = true
		}
		if u.Source == collect.SourceFanotify && removed[u.Path] && !u.RuntimeDir() {
			// the strace log's use of the path says what it needs; the
			// watch saw what was there used
			if u.Need != collect.NeedParent && !u.Created && !noted[u.Path] {
				noted[u.Path] = true
				deleted = append(deleted, u.Path)
			}
			continue
		}
		out = append(out, u)
	}
	if len(deleted) > 0 {
		sort.Strings(deleted)
		named := deleted
		more := ""
		if len(named) > maxRemovedNamed {
			named, more = named[:maxRemovedNamed], ", ..."
		}
		warn(errors.Errorf("left out %d file(s) the command removed while traced (it deletes them itself; --include packs one): %s%s",
			len(deleted), strings.Join(named, ", "), more))
	}
	return out
}

// TmpDir is the directory every image gets, empty and writable by all
// (mode 1777, owned by root), as distroless images have it: programs
// write their temporary files there (mariadb's worker dies at start
// without it). --exclude /tmp leaves it out.
const TmpDir = "/tmp"

// addTmp adds TmpDir (see filelist.Builder.AddEmptyDir): made, with the
// time of the other made entries (the Unix epoch; SOURCE_DATE_EPOCH
// clamps later ones), so that it changes no archive's bytes from one
// build to the next.
func (a *adder) addTmp() error {
	_, err := a.b.AddEmptyDir(TmpDir, 0o1777, time.Unix(0, 0).UTC(), filelist.Reason{
		Source: filelist.SourceImage,
		Detail: "every image has an empty /tmp (mode 1777), as distroless images do; --exclude /tmp leaves it out",
	})
	return err
}

// runtimeDir adds a directory the program made or wrote into: kept,
// empty, with its owner and mode, even under /run/** (the default
// excludes of contents), though not under the user's excludes.
func (a *adder) runtimeDir(u collect.Use, why filelist.Reason) error {
	parentOf := u.Need == collect.NeedParent
	_, err := a.b.AddRuntimeDir(u.Path, parentOf, why)
	return a.settle(err, failure{gone: u.Gone || !parentOf && u.Created})
}

// usedRuntimeDir keeps, empty, a directory the program used (stat'ed,
// listed) under an exclude of contents such as /run/** (apache checks
// that /var/lock/apache2, that is /run/lock/apache2, exists): it reports
// whether err was such an exclusion and the directory is now an entry.
func (a *adder) usedRuntimeDir(u collect.Use, why filelist.Reason, err error) bool {
	var ex *filelist.ExcludedError
	if !errors.As(err, &ex) || !ex.Default || !filelist.IsRuntimeExclude(ex.Pattern) {
		return false
	}
	_, err = a.b.AddRuntimeDir(u.Path, false, why)
	return err == nil
}

package scratchpack

import (
	"fmt"

	"github.com/scratchpack/scratchpack/filelist"
)

// EmptyError is a list that holds no file, link or device (directories
// at most): an archive of it would run nothing. PackOptions.AllowEmpty
// writes it anyway.
type EmptyError struct {
	Dirs int // the directories it holds
}

func (e *EmptyError) Error() string {
	what := "nothing"
	if e.Dirs > 0 {
		what = fmt.Sprintf("%d directories and nothing else", e.Dirs)
	}
	return fmt.Sprintf("the archive would hold no files (%s): the sources named no file that could be packed; --allow-empty writes it anyway", what)
}

// checkNotEmpty refuses a list in which nothing but directories is (the
// /tmp every image gets is not counted: the sources did not name it).
func checkNotEmpty(l *filelist.List) error {
	dirs := 0
	for _, e := range l.Entries {
		if e.Kind != filelist.Dir {
			return nil
		}
		if e.Path != TmpDir || e.Data == nil {
			dirs++
		}
	}
	return &EmptyError{Dirs: dirs}
}

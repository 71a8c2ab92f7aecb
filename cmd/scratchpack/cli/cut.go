package cli

import (
	"fmt"
	"io"

	"github.com/scratchpack/scratchpack"
)

// cutShown is how many units kept in part the summary names.
const cutShown = 10

// cutSummary says which units the image keeps in part, most-cut first,
// and what --complete added.
func (g *globals) cutSummary(cut []scratchpack.Unit, done scratchpack.Completed) {
	if done.Files > 0 {
		g.infof("--complete added %d files (%s)\n", done.Files, human(done.Bytes))
	}
	var partial []scratchpack.Unit
	for _, u := range cut {
		if u.Partial() {
			partial = append(partial, u)
		}
	}
	if len(partial) == 0 {
		return
	}
	g.infof("kept in part (a path the trace did not take may need the rest: --complete KIND):\n")
	for i, u := range partial {
		if i == cutShown {
			g.infof("  ... and %d more (the report and inspect list them all)\n", len(partial)-cutShown)
			break
		}
		g.infof("  %s\n", cutLine(u))
	}
}

// cutLine is one unit: "python3-jinja2 (deb) 9 of 41 files, 112 of 520
// KiB", "jinja2 (python) 9 of 25 modules, 14 of 61 files, ...".
func cutLine(u scratchpack.Unit) string {
	s := fmt.Sprintf("%s (%s) ", u.Name, u.Kind)
	if u.UnitName != "" && u.TotalUnits > 0 {
		s += fmt.Sprintf("%d of %d %s, ", u.KeptUnits, u.TotalUnits, u.UnitName)
	}
	s += fmt.Sprintf("%d of %d files, %s of %s", u.KeptFiles, u.TotalFiles, kib(u.KeptBytes), kib(u.TotalBytes))
	if u.AddedFiles > 0 {
		s += fmt.Sprintf("; --complete added %d files, %s", u.AddedFiles, kib(u.AddedBytes))
	}
	return s
}

func kib(n int64) string {
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}

// inspectCut prints the whole table of an archive's report.
func inspectCut(w io.Writer, cut []scratchpack.Unit, done *scratchpack.Completed) {
	if len(cut) == 0 {
		return
	}
	fmt.Fprintf(w, "units kept (%d), most-cut first:\n", len(cut))
	for _, u := range cut {
		fmt.Fprintf(w, "  %s\n", cutLine(u))
	}
	if done != nil {
		fmt.Fprintf(w, "--complete added %d files (%s)\n", done.Files, human(done.Bytes))
	}
}

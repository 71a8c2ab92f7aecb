package strace

import (
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
)

var ffName = regexp.MustCompile(`^(.*)\.([0-9]+)$`)

// ParseFiles parses several logs. Files named PREFIX.PID that share a
// prefix are taken as the per-process files of one `strace -ff -o PREFIX`
// run: they share one process table and are read in pid order, with the
// pid taken from the name. Every other file is a run of its own.
func ParseFiles(names []string, opts Options, emit func(Event)) error {
	type member struct {
		name string
		pid  int
	}
	groups := map[string][]member{}
	var order []string
	for _, n := range names {
		key, pid := n, -1
		if m := ffName.FindStringSubmatch(filepath.Base(n)); m != nil {
			if v, err := strconv.Atoi(m[2]); err == nil {
				key, pid = filepath.Join(filepath.Dir(n), m[1])+".*", v
			}
		}
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		groups[key] = append(groups[key], member{n, pid})
	}
	for _, key := range order {
		ms := groups[key]
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].pid < ms[j].pid })
		p := NewParser(opts, emit)
		for _, m := range ms {
			if err := p.ParseFile(m.name, m.pid); err != nil {
				return err
			}
		}
	}
	return nil
}

package strace

import (
	"container/heap"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/pkg/errors"
)

var ffName = regexp.MustCompile(`^(.*)\.([0-9]+)$`)

// ParseFiles parses several logs. Files named PREFIX.PID that share a
// prefix are taken as the per-process files of one `strace -ff -o PREFIX`
// run: they share one process table and the pid is taken from the name.
// When every file of such a run has absolute timestamps (-t, -tt, -ttt),
// their lines are merged in time order, so a chdir in one thread is seen
// before another thread's relative open; otherwise the files are read
// one after the other in pid order. Every other file is a run of its own.
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
		if len(ms) > 1 {
			files := make([]string, len(ms))
			pids := make([]int, len(ms))
			for i, m := range ms {
				files[i], pids[i] = m.name, m.pid
			}
			merged, err := p.parseMerged(files, pids)
			if err != nil {
				return err
			}
			if merged {
				if opts.Count != nil {
					opts.Count.Calls = p.Calls()
				}
				continue
			}
		}
		for _, m := range ms {
			if err := p.ParseFile(m.name, m.pid); err != nil {
				return err
			}
		}
		if opts.Count != nil {
			opts.Count.Calls = p.Calls()
		}
	}
	return nil
}

// source is one file of a merge.
type source struct {
	fs   *fileState
	lr   *lineReader
	f    *os.File
	pid  int
	idx  int
	line []byte
	ts   int64 // nanoseconds (of the day for -t/-tt)
}

type sourceHeap []*source

func (h sourceHeap) Len() int { return len(h) }
func (h sourceHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].idx < h[j].idx
}
func (h sourceHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)   { *h = append(*h, x.(*source)) }
func (h *sourceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// parseMerged parses the files of one -ff run in timestamp order. It
// returns false, having read nothing, when a file has no timestamps.
func (p *Parser) parseMerged(files []string, pids []int) (bool, error) {
	srcs := make([]*source, 0, len(files))
	defer func() {
		for _, s := range srcs {
			s.f.Close()
		}
	}()
	for i, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return false, errors.Wrap(err, "opening strace log")
		}
		s := &source{f: f, pid: pids[i], idx: i, lr: newLineReader(f, p.opts.MaxLineBytes),
			fs: &fileState{name: name, unknown: map[string]bool{}}}
		srcs = append(srcs, s)
		head := make([]byte, 64)
		n, _ := f.ReadAt(head, 0)
		if _, ok := timestamp(head[:n]); !ok {
			return false, nil
		}
	}
	h := sourceHeap{}
	advance := func(s *source) {
		for {
			line, ok := s.lr.next()
			if !ok {
				return
			}
			if ts, ok := timestamp(line); ok {
				s.ts = ts
			}
			s.line = line
			heap.Push(&h, s)
			return
		}
	}
	for _, s := range srcs {
		advance(s)
	}
	for h.Len() > 0 {
		s := heap.Pop(&h).(*source)
		p.cur = s.fs
		p.feed(s.lr, s.line, s.pid)
		advance(s)
	}
	for _, s := range srcs {
		if err := p.end(s.fs, s.lr.n, s.lr.err); err != nil {
			return true, err
		}
	}
	return true, nil
}

// timestamp reads the absolute timestamp at the start of a line of a
// -ff file: "14:34:08", "14:34:08.309120" or "1795358048.352029".
func timestamp(line []byte) (int64, bool) {
	i := 0
	var parts [3]int64
	np := 0
	var frac int64
	fracDigits := 0
	inFrac := false
	for ; i < len(line); i++ {
		c := line[i]
		switch {
		case c >= '0' && c <= '9':
			if inFrac {
				if fracDigits < 9 {
					frac = frac*10 + int64(c-'0')
					fracDigits++
				}
			} else {
				parts[np] = parts[np]*10 + int64(c-'0')
			}
		case c == ':' && !inFrac && np < 2:
			np++
		case c == '.' && !inFrac:
			inFrac = true
		case c == ' ':
			if i == 0 {
				return 0, false
			}
			for ; fracDigits < 9; fracDigits++ {
				frac *= 10
			}
			var sec int64
			switch np {
			case 0:
				if !inFrac {
					return 0, false // a pid, not a timestamp
				}
				sec = parts[0]
			case 2:
				sec = parts[0]*3600 + parts[1]*60 + parts[2]
			default:
				return 0, false
			}
			return sec*1e9 + frac, true
		default:
			return 0, false
		}
	}
	return 0, false
}

package tarball

import (
	"time"

	"github.com/scratchpack/scratchpack/filelist"
)

// Progress of a write.
type Progress struct {
	Files, TotalFiles int
	Bytes, TotalBytes int64 // file contents read
	Elapsed           time.Duration
	Done              bool
}

type progress struct {
	opts  Options
	cur   Progress
	start time.Time
	last  time.Time
}

func newProgress(entries []*filelist.Entry, opts Options) *progress {
	p := &progress{opts: opts, start: time.Now()}
	p.last = p.start
	if opts.Progress == nil {
		return p
	}
	for _, e := range entries {
		if e.Kind == filelist.File {
			p.cur.TotalFiles++
			p.cur.TotalBytes += e.Size
		}
	}
	return p
}

func (p *progress) add(e *filelist.Entry, n int64) {
	if p.opts.Progress == nil {
		return
	}
	if e.Kind == filelist.File {
		p.cur.Files++
		p.cur.Bytes += n
	}
	every := p.opts.ProgressEvery
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every {
		p.last = now
		p.cur.Elapsed = now.Sub(p.start)
		p.opts.Progress(p.cur)
	}
}

func (p *progress) done() {
	if p.opts.Progress == nil {
		return
	}
	p.cur.Elapsed = time.Since(p.start)
	p.cur.Done = true
	p.opts.Progress(p.cur)
}

package source

import "time"

// progressEvery is how often progress is reported, at most.
const progressEvery = 250 * time.Millisecond

// progress reports an Open's progress to Options.Progress.
type progress struct {
	fn          func(Progress)
	cur         Progress
	begin, last time.Time
}

func newProgress(ref string, fn func(Progress)) *progress {
	now := time.Now()
	return &progress{fn: fn, cur: Progress{Ref: ref}, begin: now, last: now}
}

func (p *progress) start(total int64, layers int) {
	p.cur.Total, p.cur.Layers = total, layers
	p.report(true)
}

func (p *progress) add(n int64) {
	p.cur.Complete += n
	p.report(false)
}

func (p *progress) set(n int64) {
	p.cur.Complete = n
	p.report(false)
}

func (p *progress) layer(n int) {
	p.cur.Layer = n
	p.report(false)
}

func (p *progress) done() {
	p.cur.Done = true
	p.cur.Complete = p.cur.Total
	p.report(true)
}

func (p *progress) report(force bool) {
	if p.fn == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	p.cur.Elapsed = now.Sub(p.begin)
	p.fn(p.cur)
}

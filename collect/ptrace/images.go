package ptrace

// Which calls are the command's (Result.Calls, for --seccomp-profile).
// The filter is loaded by the launcher right before it starts the
// command, but not every launcher then execs: build --from's container
// init loads it on its main thread, forks the command and stays, as the
// container's PID 1, waiting and relaying signals (pipe2, waitid,
// pidfd_send_signal, wait4...). Those calls are the launcher's, not the
// command's, and must not widen the profile. So the calls are counted per
// process image, as the strace collector counts them (strace.Counting):
// an image is the command's when it began with an execve the filter
// stopped (made after the filter was loaded); a thread or child that has
// not exec'd runs its parent's image. A task whose parent the tracer
// never learnt counts, to be safe (a profile that allows a call too many
// is better than one that kills the program).

// image is the calls of one program run by one process (between two
// execs), and where it came from.
type image struct {
	counts map[string]int
	// parent: the image that forked this one (nil: the launcher's, or
	// not known).
	parent *image
	execd  bool // began with an execve
	cmd    bool // that execve was stopped by the filter: the command's
	// launcher: the first traced process's image before it exec'd.
	launcher bool
}

func (t *tracer) newImage() *image {
	im := &image{counts: map[string]int{}}
	t.images = append(t.images, im)
	return im
}

// image returns tk's current image (made on its first stop).
func (t *tracer) image(tk *task) *image {
	if tk.img == nil {
		tk.img = t.newImage()
	}
	return tk.img
}

// forked: child is a new thread or process of parent's, which runs its
// image until it execs. Its first stops may have come before this event.
func (t *tracer) forked(parent, child *task) {
	if im := t.image(child); !im.execd && im.parent == nil && !im.launcher && im != t.image(parent) {
		im.parent = t.image(parent)
	}
}

// execd: tk ran a new program; the execve is the command's when the
// filter stopped it (tk.execCall).
func (t *tracer) execd(tk *task) {
	im := t.newImage()
	im.execd, im.cmd = true, tk.execCall != ""
	if im.cmd {
		im.counts[tk.execCall]++ // (the former image may be the launcher's)
	}
	tk.img, tk.execCall = im, ""
}

// commands sums the calls of the command's images: those that began
// with a filtered execve, those forked from one, and those of unknown
// origin.
func commands(images []*image) map[string]int {
	out := map[string]int{}
	for _, im := range images {
		p := im
		for i := 0; i < len(images) && !p.execd && p.parent != nil; i++ {
			p = p.parent
		}
		if p.execd && !p.cmd || !p.execd && p.launcher || !p.execd && p.parent != nil {
			continue // the launcher's
		}
		for n, k := range im.counts {
			out[n] += k
		}
	}
	return out
}

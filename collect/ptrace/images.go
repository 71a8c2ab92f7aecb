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
//
// Which image a new task's first calls belong to must not depend on the
// order in which the tracer hears of them. The kernel reports the
// parent's fork, vfork or clone event and the child's own stops
// independently: on a loaded machine the child may make its first calls,
// exec and even exit before the parent's event comes (build --from's
// init forks the command with Go's vfork-like clone, and the child's
// chroot, setgroups, setuid and rt_sigaction calls before its execve
// then went into the profile, one run in two under load). So a task
// remembers the image it began with (task.first), and the event links
// that image to the parent's whenever it comes: after the child's exec,
// and after its exit (the tracer keeps a task that exited before its
// parent's event, tracer.unlinked, for it). Only an event that never
// comes (the parent killed while it forked) leaves an image unlinked.

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

// image returns tk's current image (made on its first stop: the task's
// first image).
func (t *tracer) image(tk *task) *image {
	if tk.img == nil {
		tk.img = t.newImage()
		tk.first = tk.img
	}
	return tk.img
}

// forked: child is a new thread or process of parent's, which runs its
// image until it execs. Its first stops, its exec and its exit may all
// have come before this event: the image it began with is linked, not
// the one it runs now.
func (t *tracer) forked(parent, child *task) {
	child.linked = true
	t.image(child)
	if im := child.first; !im.execd && im.parent == nil && !im.launcher && im != t.image(parent) {
		im.parent = t.image(parent)
	}
}

// execd: tk ran a new program; the execve is the command's when the
// filter stopped it (tk.execCall).
func (t *tracer) execd(tk *task) {
	t.image(tk) // (the task's first image, when this is its first stop)
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

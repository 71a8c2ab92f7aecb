package sandbox

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/pkg/errors"
)

// WithProc calls fn on an OS thread of its own that has a private mount
// namespace in which /proc is mounted at root/proc. Processes started by
// fn (os/exec) inherit that namespace. The thread is discarded after.
func WithProc(root string, fn func() error) error {
	done := make(chan error, 1)
	go offMainThread(func() { done <- inNamespace(root, fn) })
	return <-done
}

// offMainThread runs fn on a locked OS thread that is not the process's
// main thread: Go never ends the main thread, so a namespace unshared
// there would outlive fn. The thread fn ran on is never unlocked, so it
// dies with its goroutine, and its namespace with it.
func offMainThread(fn func()) {
	runtime.LockOSThread()
	if syscall.Gettid() != syscall.Getpid() {
		fn()
		return
	}
	// Holding the main thread locked while we wait keeps the next
	// goroutine off it.
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		fn()
		close(done)
	}()
	<-done
	runtime.UnlockOSThread()
}

// WithPrivateMounts calls fn on an OS thread of its own that has a
// private copy of the mount namespace: the same files, through mount
// objects that only this thread and the processes it starts use. The
// thread is discarded after.
func WithPrivateMounts(fn func() error) error {
	done := make(chan error, 1)
	go offMainThread(func() {
		if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
			done <- errors.Wrap(err, "creating a mount namespace (needs root)")
			return
		}
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			done <- errors.Wrap(err, "making mounts private")
			return
		}
		done <- fn()
	})
	return <-done
}

func inNamespace(root string, fn func() error) error {
	undo, err := mountRoot(root)
	defer undo()
	if err != nil {
		return err
	}
	return fn()
}

// mountRoot makes the calling thread a private mount namespace in which
// root has /proc and the Devices bound from the host's. undo unmounts
// what was mounted and removes the files made to mount on (also after
// an error).
func mountRoot(root string) (undo func(), err error) {
	var mounted, made []string
	undo = func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			syscall.Unmount(mounted[i], syscall.MNT_DETACH)
		}
		for _, f := range made {
			os.Remove(f)
		}
	}
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		return undo, errors.Wrap(err, "creating a mount namespace (needs root)")
	}
	// Stop mounts from propagating back to the host.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return undo, errors.Wrap(err, "making mounts private")
	}
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o555); err != nil {
		return undo, errors.Wrap(err, "creating /proc in the root")
	}
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return undo, errors.Wrapf(err, "mounting /proc in %s", root)
	}
	mounted = append(mounted, proc)
	// The device nodes every container runtime creates.
	for _, dev := range Devices {
		target := filepath.Join(root, dev)
		if _, err := os.Lstat(target); err == nil {
			continue // the image has it (an empty file would be odd, but its own)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return undo, errors.Wrap(err, "creating /dev in the root")
		}
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return undo, errors.Wrap(err, "creating a device node's mount point")
		}
		made = append(made, target)
		if err := syscall.Mount(dev, target, "", syscall.MS_BIND, ""); err != nil {
			return undo, errors.Wrapf(err, "binding %s into the root", dev)
		}
		mounted = append(mounted, target)
	}
	return undo, nil
}

// ContainerRoot gives root, for the processes the calling thread starts
// from then on, what a container runtime gives a container: /proc and
// the Devices, mounted in a private mount namespace of the thread's
// (as WithProc does). The thread must be locked, not the process's
// first, and never unlocked: the namespace goes with the thread and the
// processes it started (see OnThread).
//
// Without the right to mount there (EPERM: no CAP_SYS_ADMIN, as in a
// docker or podman build), nothing is mounted: the Devices the
// root lacks are made there with mknod (CAP_MKNOD, which containers
// have), and root has no /proc; proc says whether it has one.
func ContainerRoot(root string) (proc bool, err error) {
	if syscall.Gettid() == syscall.Getpid() {
		return false, errors.New("a mount namespace for the root on the process's first thread (it would outlive the run)")
	}
	undo, err := mountRoot(root)
	if err == nil {
		return true, nil
	}
	undo()
	if !errors.Is(err, syscall.EPERM) {
		return false, err
	}
	// (a container with CAP_SYS_ADMIN may refuse the /proc mount only:
	// its own /proc has masked paths)
	return false, makeDevices(root)
}

// makeDevices makes the Devices the root lacks as device nodes, with
// the host's numbers and modes.
func makeDevices(root string) error {
	for _, dev := range Devices {
		target := filepath.Join(root, dev)
		if _, err := os.Lstat(target); err == nil {
			continue // the image has it
		}
		var st syscall.Stat_t
		if err := syscall.Stat(dev, &st); err != nil {
			continue // the host has none: no more in the root (a container without a tty)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return errors.Wrap(err, "creating /dev in the root")
		}
		if err := syscall.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
			return errors.Wrapf(err, "creating %s in the root (mknod)", dev)
		}
		if err := os.Chmod(target, os.FileMode(st.Mode&0o777)); err != nil { // (the umask applied)
			return errors.Wrapf(err, "creating %s in the root", dev)
		}
	}
	return nil
}

// OnThread calls fn on a locked OS thread of its own, not the process's
// first, which is discarded after: what fn changes of the thread (its
// mount namespace: ContainerRoot) ends with it and with the processes
// it started.
func OnThread(fn func() error) error {
	done := make(chan error, 1)
	go offMainThread(func() { done <- fn() })
	return <-done
}

// Devices are the nodes a container runtime provides in /dev.
var Devices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

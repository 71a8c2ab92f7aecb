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
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		return errors.Wrap(err, "creating a mount namespace (needs root)")
	}
	// Stop mounts from propagating back to the host.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return errors.Wrap(err, "making mounts private")
	}
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o555); err != nil {
		return errors.Wrap(err, "creating /proc in the root")
	}
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return errors.Wrapf(err, "mounting /proc in %s", root)
	}
	defer syscall.Unmount(proc, syscall.MNT_DETACH)
	// The device nodes every container runtime creates.
	for _, dev := range Devices {
		target := filepath.Join(root, dev)
		if _, err := os.Lstat(target); err == nil {
			continue // the image has it (an empty file would be odd, but its own)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return errors.Wrap(err, "creating /dev in the root")
		}
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return errors.Wrap(err, "creating a device node's mount point")
		}
		if err := syscall.Mount(dev, target, "", syscall.MS_BIND, ""); err != nil {
			return errors.Wrapf(err, "binding %s into the root", dev)
		}
		defer syscall.Unmount(target, syscall.MNT_DETACH)
	}
	return fn()
}

// Devices are the nodes a container runtime provides in /dev.
var Devices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

package ptrace

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary one of the programs the tests trace.
const helperEnv = "PTRACE_TEST_HELPER"

// helper runs the program named by helperEnv, when set.
func helper() {
	name := os.Getenv(helperEnv)
	if name == "" {
		return
	}
	// (a guard: a helper that started itself by mistake stops here)
	depth := os.Getenv("PTRACE_TEST_DEPTH")
	if len(depth) > 3 {
		fmt.Fprintln(os.Stderr, "helper: nested too deep")
		os.Exit(4)
	}
	os.Setenv("PTRACE_TEST_DEPTH", depth+"x")
	var err error
	switch name {
	case "threadexec":
		err = threadExec()
	case "atcalls":
		err = atCalls(os.Args[1])
	case "daemon":
		err = daemon()
	case "dropper":
		err = dropper()
	case "dropchild":
		err = dropChild()
	case "sleep":
		time.Sleep(time.Hour)
	default:
		err = fmt.Errorf("unknown helper %q", name)
	}
	fmt.Fprintln(os.Stderr, "helper:", err)
	os.Exit(3)
}

// threadExec opens a file on a thread other than the first, then runs
// cat from it: the kernel gives that thread the leader's pid.
func threadExec() error {
	runtime.LockOSThread() // main holds the first thread
	errc := make(chan error)
	go func() {
		runtime.LockOSThread()
		if tid, pid := unix.Gettid(), os.Getpid(); tid == pid {
			errc <- fmt.Errorf("not on another thread")
			return
		}
		if _, err := os.ReadFile("/etc/hostname"); err != nil {
			errc <- err
			return
		}
		env := dropEnv(os.Environ(), helperEnv)
		errc <- syscall.Exec("/bin/cat", []string{"cat", "/etc/os-release"}, env)
	}()
	return <-errc
}

// atCalls changes directory and uses relative paths and *at calls with
// dirfds, and creates, renames and deletes files in dir.
func atCalls(dir string) error {
	steps := []func() error{
		func() error { return os.Chdir(dir) },
		func() error { return os.WriteFile("rel.txt", []byte("x"), 0o644) },
		func() error { return os.Mkdir("sub", 0o755) },
		func() error {
			fd, err := unix.Open("sub", unix.O_DIRECTORY|unix.O_RDONLY, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			f, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			unix.Close(f)
			var st unix.Stat_t
			if err := unix.Fstatat(fd, "f", &st, 0); err != nil {
				return err
			}
			if err := unix.Renameat(fd, "f", fd, "g"); err != nil {
				return err
			}
			return unix.Unlinkat(fd, "g", 0)
		},
		func() error {
			etc, err := unix.Open("/etc", unix.O_DIRECTORY|unix.O_RDONLY, 0)
			if err != nil {
				return err
			}
			defer unix.Close(etc)
			f, err := unix.Openat(etc, "hostname", unix.O_RDONLY, 0)
			if err != nil {
				return err
			}
			unix.Close(f)
			if err := unix.Fchdir(etc); err != nil {
				return err
			}
			_, err = os.Stat("passwd")
			return err
		},
		func() error { return os.Chdir("/usr/share") },
		func() error { _, err := os.Lstat("../bin/../share/doc"); return err },
		func() error { os.Readlink(filepath.Join(dir, "none")); return nil },
		func() error { os.Stat("missing-file"); return nil }, // a failed call: not a use
	}
	for i, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	os.Exit(0)
	return nil
}

// daemon forks a child that outlives it (a detaching server), then
// exits.
func daemon() error {
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", "3600"}, &os.ProcAttr{Sys: &syscall.SysProcAttr{Setsid: true}})
	if err != nil {
		return err
	}
	p.Release()
	os.Exit(0)
	return nil
}

// dropper starts a child that drops to uid and gid 33 (www-data) and
// then uses files, as a server's worker does, and waits for it.
func dropper() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	p, err := os.StartProcess(self, []string{self}, &os.ProcAttr{
		Env:   append(dropEnv(os.Environ(), helperEnv), helperEnv+"=dropchild"),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		return err
	}
	st, err := p.Wait()
	if err != nil {
		return err
	}
	os.Exit(st.ExitCode())
	return nil
}

// dropFiles are what dropChild uses after the drop.
var dropFiles = []string{"/etc/hostname", "/usr/share/doc", "/usr/share/common-licenses", "/etc/os-release"}

func dropChild() error {
	if err := syscall.Setgroups(nil); err != nil {
		return err
	}
	if err := syscall.Setgid(33); err != nil {
		return err
	}
	if err := syscall.Setuid(33); err != nil {
		return err
	}
	if _, err := os.ReadFile(dropFiles[0]); err != nil {
		return err
	}
	if err := os.Chdir("/usr/share"); err != nil {
		return err
	}
	if _, err := os.Stat("doc"); err != nil {
		return err
	}
	fd, err := unix.Open("common-licenses", unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		return err
	}
	if _, err := unix.Getdents(fd, make([]byte, 4096)); err != nil {
		return err
	}
	etc, err := unix.Open("/etc", unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		return err
	}
	f, err := unix.Openat(etc, "os-release", unix.O_RDONLY, 0)
	if err != nil {
		return err
	}
	unix.Close(f)
	os.Stat(dropMissing) // a failed lookup after the drop
	os.Exit(0)
	return nil
}

// dropMissing is the path dropChild looks for and does not find.
const dropMissing = "/etc/sp-missing-after-drop"

package sandbox

import (
	"encoding/json"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/internal/rootpath"
)

// Container is how a command runs as a container runtime would run an
// image: in private mount, PID, IPC and UTS namespaces (on the host's
// network), on an overlay over Root so that the shared, read-only root is
// never written, with /proc, a minimal /dev, a read-only /sys, the
// host's /etc/hosts, /etc/resolv.conf and /etc/hostname, after
// pivot_root, as User.
//
// The command's files keep the paths they have on the host under Root:
// the new root holds the overlay at Root's own path, and the command is
// chrooted there. A tracer on the host (strace, fanotify) thus reports
// Root/usr/bin/x for /usr/bin/x, as for a chrooted --root run, and the
// files it finds there are the image's own (Root), never those the
// command wrote (the overlay's upper directory, under RunDir).
type Container struct {
	Root   string // the image's root
	RunDir string // an empty directory of the run's own (upper, work, new root)
	User   User
	// Hostname is the UTS name (default: the host's).
	Hostname string
}

// specFile is where Launch and Init find the Container, in RunDir.
const specFile = "container.json"

// Prepare writes the container's spec into its RunDir, for Launch.
func (c Container) Prepare() error {
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	data, err := json.Marshal(c)
	if err != nil {
		return errors.Wrap(err, "encoding the container spec")
	}
	return errors.Wrap(os.WriteFile(filepath.Join(c.RunDir, specFile), data, 0o600), "writing the container spec")
}

func loadContainer(runDir string) (Container, error) {
	var c Container
	data, err := os.ReadFile(filepath.Join(runDir, specFile))
	if err != nil {
		return c, errors.Wrap(err, "reading the container spec")
	}
	return c, errors.Wrap(json.Unmarshal(data, &c), "reading the container spec")
}

// Launch is the launcher's body (LAUNCHER RUNDIR ROOT DIR -- ARGV): it
// starts self (this program, with initArgs before the same arguments:
// Init's entry) as the first process of new mount, PID, IPC and UTS
// namespaces, forwards the signals it gets, and exits as it exits.
// passFD gives it our fds 3 and 4 as its own (a fanotify group and a
// socket, for Init's ready hook).
func Launch(initArgs []string, runDir, root, dir string, argv []string, passFD bool) error {
	if len(argv) == 0 {
		return errors.New("no command")
	}
	args := append(append(append([]string{}, initArgs...), runDir, root, dir, "--"), argv...)
	cmd := exec.Command(self(), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
		Pdeathsig:  syscall.SIGKILL,
	}
	if passFD {
		f, h := os.NewFile(3, "passed"), os.NewFile(4, "passed")
		defer f.Close()
		defer h.Close()
		cmd.ExtraFiles = []*os.File{f, h}
	}
	sigs := forwardSignals()
	if err := cmd.Start(); err != nil {
		err = errors.Wrap(err, "creating the container's namespaces (needs root)")
		os.WriteFile(filepath.Join(runDir, errorFile), []byte(err.Error()), 0o600)
		return err
	}
	go relay(sigs, cmd.Process.Pid)
	err := cmd.Wait()
	exitLike(err)
	return err
}

// self is the path this launcher was run by, for the init it starts:
// the strace collector's syscall count (--seccomp-profile) leaves out the
// launcher's program by its path (tracer.LauncherProgram), and the init's
// namespace setup (mount, pivot_root, sethostname...) is the launcher's
// too, not the command's. /proc/self/exe when that path is relative.
func self() string {
	if len(os.Args) > 0 && filepath.IsAbs(os.Args[0]) {
		return os.Args[0]
	}
	return "/proc/self/exe"
}

// forwardSignals catches the signals a runtime forwards.
func forwardSignals() chan os.Signal {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	return sigs
}

func relay(sigs chan os.Signal, pid int) {
	for s := range sigs {
		syscall.Kill(pid, s.(syscall.Signal))
	}
}

// exitLike ends this process with the status err describes (a signal is
// raised again, on us), when it is an exit status.
func exitLike(err error) {
	if err == nil {
		os.Exit(0)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		signal.Reset(ws.Signal())
		syscall.Kill(os.Getpid(), ws.Signal())
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(ee.ExitCode())
}

// Init is the body of the namespaces' first process: it makes the
// container's mounts, pivots into them, and runs argv as the user,
// chrooted at root (the overlay, at the same path as on the host), with
// the working directory dir. It stays as the namespace's init (as
// docker run --init does): it forwards signals to the command, reaps
// orphans, and exits as the command exits. ready, when set, runs once
// the container's mounts are made, before the command starts (a watch
// marks them), with the /proc/self of the container's /proc.
func Init(runDir, root, dir string, argv []string, ready func(proc string) error) error {
	err := initContainer(runDir, root, dir, argv, ready)
	// (it returns only when the command could not start)
	os.WriteFile(filepath.Join(runDir, errorFile), []byte(err.Error()), 0o600)
	return err
}

// errorFile holds why the container's command did not start, in RunDir.
const errorFile = "error"

// StartError is why the command of the container in runDir did not
// start (nil: it did), as Init wrote it.
func StartError(runDir string) error {
	data, err := os.ReadFile(filepath.Join(runDir, errorFile))
	if err != nil {
		return nil
	}
	return errors.Errorf("the container did not start: %s", data)
}

func initContainer(runDir, root, dir string, argv []string, ready func(proc string) error) error {
	c, err := loadContainer(runDir)
	if err != nil {
		return err
	}
	if err := c.mount(root, dir); err != nil {
		return err
	}
	if ready != nil {
		// the container's /proc, in its new root
		if err := ready(filepath.Join(root, "proc/self")); err != nil {
			return err
		}
	}
	// The command, found inside the overlay (now at root's path).
	res, err := rootpath.New(root)
	if err != nil {
		return err
	}
	env := os.Environ()
	if envValue(env, "HOME") == "" {
		home := c.User.Home
		if home == "" {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}
	prog, err := res.LookPath(argv[0], rootpath.PathOf(env), dir)
	if err != nil {
		return errors.WithMessage(err, "in the image")
	}
	groups := make([]uint32, len(c.User.Groups))
	copy(groups, c.User.Groups)
	cmd := &exec.Cmd{Path: prog, Args: argv, Env: env, Dir: dir}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: c.User.UID, Gid: c.User.GID, Groups: groups},
	}
	sigs := forwardSignals()
	if err := cmd.Start(); err != nil {
		return errors.Wrapf(err, "starting %s in the image", argv[0])
	}
	go relay(sigs, cmd.Process.Pid)
	// As init: reap every orphan; the command's status is ours.
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return errors.Wrap(err, "waiting for the command")
		}
		if pid == cmd.Process.Pid {
			if ws.Signaled() {
				os.Exit(128 + int(ws.Signal()))
			}
			os.Exit(ws.ExitStatus())
		}
	}
}

// mount makes the container's file system and pivots into it: the
// overlay (lower: root; upper and work in RunDir) at RunDir/rootfs with
// its /proc, /dev, /sys and /etc files, then a new root (a tmpfs in which
// the overlay is mounted at root's path) in place of the host's.
func (c Container) mount(root, dir string) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return errors.Wrap(err, "making mounts private")
	}
	d := func(name string) string { return filepath.Join(c.RunDir, name) }
	for _, n := range []string{"lower", "upper", "work", "rootfs", "newroot"} {
		if err := os.MkdirAll(d(n), 0o755); err != nil {
			return errors.Wrap(err, "creating the container's directories")
		}
	}
	// The lower directory through a bind of its own: overlay options
	// split at ':' and ',', which a cache path may hold.
	if err := syscall.Mount(root, d("lower"), "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return errors.Wrapf(err, "binding the image's root %s", root)
	}
	opts := "lowerdir=" + d("lower") + ",upperdir=" + d("upper") + ",workdir=" + d("work")
	if err := syscall.Mount("overlay", d("rootfs"), "overlay", 0, opts); err != nil {
		return errors.Wrapf(err, "mounting an overlay on the image's root %s (upper directory in %s)", root, c.RunDir)
	}
	rootfs := d("rootfs")
	if err := mountSystem(rootfs); err != nil {
		return err
	}
	for _, f := range HostFiles {
		if err := hostFile(rootfs, f); err != nil {
			return err
		}
	}
	if err := syscall.Sethostname([]byte(c.Hostname)); err != nil {
		return errors.Wrap(err, "setting the hostname")
	}
	// WORKDIR is made when missing, as runtimes do.
	if w, err := inside(rootfs, dir); err == nil {
		os.MkdirAll(w, 0o755)
	} else if err := os.MkdirAll(filepath.Join(rootfs, dir), 0o755); err != nil {
		return errors.Wrapf(err, "creating the working directory %s", dir)
	}
	// The new root: a tmpfs holding the overlay at root's path.
	nr := d("newroot")
	if err := syscall.Mount("tmpfs", nr, "tmpfs", 0, "mode=0755"); err != nil {
		return errors.Wrap(err, "mounting the new root")
	}
	at := filepath.Join(nr, root)
	if err := os.MkdirAll(at, 0o755); err != nil {
		return errors.Wrap(err, "creating the root's path in the new root")
	}
	if err := syscall.Mount(rootfs, at, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return errors.Wrap(err, "binding the overlay into the new root")
	}
	if err := os.Mkdir(filepath.Join(nr, ".oldroot"), 0o700); err != nil {
		return errors.Wrap(err, "creating the old root's mount point")
	}
	if err := syscall.PivotRoot(nr, filepath.Join(nr, ".oldroot")); err != nil {
		return errors.Wrap(err, "pivot_root")
	}
	if err := os.Chdir("/"); err != nil {
		return errors.Wrap(err, "changing to the new root")
	}
	if err := syscall.Unmount("/.oldroot", syscall.MNT_DETACH); err != nil {
		return errors.Wrap(err, "detaching the host's root")
	}
	os.Remove("/.oldroot")
	// Nothing more is written outside the overlay.
	return errors.Wrap(syscall.Mount("", "/", "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""), "making the new root read-only")
}

// mountSystem mounts /proc, a minimal /dev and a read-only /sys in
// rootfs (the overlay: the mount points it makes are not the image's).
func mountSystem(rootfs string) error {
	for _, m := range []struct {
		dir, fstype string
		flags       uintptr
		data        string
	}{
		{"proc", "proc", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
		{"dev", "tmpfs", syscall.MS_NOSUID, "mode=0755,size=65536k"},
		{"dev/pts", "devpts", syscall.MS_NOSUID | syscall.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
		{"dev/shm", "tmpfs", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, "mode=1777,size=65536k"},
		{"sys", "sysfs", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC | syscall.MS_RDONLY, ""},
	} {
		target, err := mountPoint(rootfs, "/"+m.dir)
		if err != nil {
			return err
		}
		if err := syscall.Mount(m.fstype, target, m.fstype, m.flags, m.data); err != nil {
			return errors.Wrapf(err, "mounting /%s in the container", m.dir)
		}
	}
	for _, dev := range Devices {
		target := filepath.Join(rootfs, dev)
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return errors.Wrap(err, "creating a device node's mount point")
		}
		if err := syscall.Mount(dev, target, "", syscall.MS_BIND, ""); err != nil {
			return errors.Wrapf(err, "binding %s into the container", dev)
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"} {
		if err := os.Symlink(target, filepath.Join(rootfs, "dev", name)); err != nil {
			return errors.Wrap(err, "creating /dev/"+name)
		}
	}
	return nil
}

// mountPoint makes the directory p inside rootfs (replacing whatever the
// image has there: in the overlay) and returns its host path.
func mountPoint(rootfs, p string) (string, error) {
	target, err := inside(rootfs, p)
	if err != nil {
		return "", err
	}
	if st, err := os.Lstat(target); err == nil && !st.IsDir() {
		os.Remove(target)
	}
	return target, errors.Wrapf(os.MkdirAll(target, 0o755), "creating %s in the container", p)
}

// HostFiles are the host's files a container gets in place of the
// image's, as a runtime bind-mounts its own over them: a file list need
// not take them from the image, which often has none.
var HostFiles = []string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"}

// hostFile copies one of the host's files (/etc/hosts...) into rootfs in
// place of the image's (a symlink there is replaced, not followed).
func hostFile(rootfs, p string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return errors.Wrapf(err, "reading the host's %s", p)
	}
	target, err := inside(rootfs, filepath.Dir(p))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return errors.Wrapf(err, "creating %s in the container", filepath.Dir(p))
	}
	target = filepath.Join(target, filepath.Base(p))
	if st, err := os.Lstat(target); err == nil && !st.Mode().IsRegular() {
		os.RemoveAll(target)
	}
	return errors.Wrapf(os.WriteFile(target, data, 0o644), "writing %s in the container", p)
}

// inside is the host path of p inside rootfs, its links resolved there.
func inside(rootfs, p string) (string, error) {
	res, err := rootpath.New(rootfs)
	if err != nil {
		return "", err
	}
	canon, err := res.Canonical(p)
	if err != nil {
		// missing: made in its parent (which must be there)
		dir, err2 := res.Canonical(filepath.Dir(p))
		if err2 != nil || p == "/" {
			return "", errors.WithMessagef(err, "finding %s in the container", p)
		}
		return filepath.Join(res.HostPath(dir), filepath.Base(p)), nil
	}
	return res.HostPath(canon), nil
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

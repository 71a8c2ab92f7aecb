package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/collect/tracer"
)

func newBuild(g *globals) *cobra.Command {
	var tf traceFlags
	var af archiveFlags
	var keepLog string
	var ldd []string
	var keepCreated, ignoreMissing bool
	var paths pathFlags
	var verifyAfter bool
	var vf verifyFlags
	var collector string
	var seccompProfile string
	var execs, execFiles []string
	var reportHTML string
	var from fromFlags
	var strict bool
	cmd := &cobra.Command{
		Use:   "build -o ROOTFS.tar.gz [--dockerfile FILE] [flags] -- COMMAND [ARGS...]",
		Short: "Trace a command, resolve everything it needs, and pack it: one command",
		Long: `build runs the command under scratchpack's own tracer (--collector ptrace, the
default: no strace needed), lists every file it used, adds what a trace cannot see (the ELF loader and shared libraries of every
program and library in the list, found the way the loader finds them; the
interpreters of scripts, "#!/usr/bin/env NAME" through PATH), and writes the rootfs
archive. Directories the command listed or wrote into are kept; files it created
are not packed unless --keep-created.

With --dockerfile it also writes a Dockerfile: FROM scratch, ADD the archive,
ENV PATH, WORKDIR when not /, and CMD in exec form with the program's absolute
path. A summary shows the files, bytes and the 10 largest files.

The ptrace collector stops the command only at the calls that name or change
files (a seccomp filter, loaded right before the command runs, lets every other call
through) and reads their paths itself. It needs no capability beyond a container's
defaults: after a worker process drops privileges (setuid), the tracer makes it
dumpable again (prctl(PR_SET_DUMPABLE, 1), as under any debugger) so its paths stay
readable. The filter sets no_new_privs unless scratchpack has CAP_SYS_ADMIN: a
set-user-ID program the command runs gains no privileges while traced.
--collector strace runs strace instead (it must be installed); --keep-log needs it.

--collector fanotify watches instead of tracing: the command runs in a private copy of
the mount namespace whose mounts are marked with fanotify, so it is not stopped at
each file call (busy programs run at near full speed), while a narrow strace follows
only the process tree and directory changes. It sees the files opened and run, not
the names used to reach them nor files only stat'ed: build adds the symlinks that
point at used files (in /etc, /usr, /opt, /, PATH and the files' directories) and,
for Python, the sources of cached bytecode and the stdlib landmarks. It needs
CAP_SYS_ADMIN (in a container build: podman build --cap-add SYS_ADMIN).

--seccomp-profile FILE writes a seccomp profile for the image (podman/docker run
--security-opt seccomp=FILE): every syscall is refused with EPERM except those the
traced processes made and those the container runtime (runc, crun) makes between
loading the filter and starting the program. strace then stops the command at every
syscall, not only at file calls: the run is slower (see the README). The profile
allows only what this run did: exercise the code paths the image must serve.

--exec 'SHELL COMMAND' (repeatable; --exec-file FILE: one a line) runs more
commands the same way (collector, root, working directory, environment) to reach
code paths the command alone does not: a test suite, a few invocations. They run
after the command exits or, for a server (--probe), while it runs, once the probes
succeeded. Their files join the list, tagged with the exec in the report; an exec
that fails is an error. The image's CMD stays the command.

--from IMAGE shrinks an image you already have, with no container engine:
docker://REGISTRY/REPO:TAG (or REGISTRY/REPO:TAG), oci:DIR[:TAG] or
docker-archive:FILE[:NAME:TAG]. Its root is cached (--cache-dir). With nothing
after --, its ENTRYPOINT and CMD are traced; otherwise the command given is. It runs
as a container runtime runs the image: the image's Env, WorkingDir and User (from
the image's /etc/passwd and /etc/group), in private mount, PID, IPC and UTS
namespaces after pivot_root, on an overlay (the cached root is never written), with
/proc, a minimal /dev, a read-only /sys and the host's /etc/hosts, resolv.conf and
hostname, on the host's network (--probe reaches it). The result keeps the image's
config (entrypoint, cmd, env, workdir, user, ports, volumes, labels, stop signal,
healthcheck; --cmd, --env, --workdir, --user, --port, --label override) and the
org.opencontainers.image.base.name and base.digest annotations. It needs root.

Never silent: a process that changes its uid without exec (apache's prefork
workers, mariadb --user=mysql, php-fpm and nginx workers) becomes non-dumpable, and
strace without CAP_SYS_PTRACE (a docker or podman build gives none) prints an
address where the path belongs. build counts these calls per process, warns once
for each (pid, command, uid, count) and lists them in the report; the files they
named may be missing. --strict makes them an error: nothing is written.`,
		Example: `  scratchpack build -o rootfs.tar.gz --dockerfile Dockerfile -- /usr/games/fortune
  scratchpack build -o py.tar.gz -- python3 /app/main.py
  scratchpack build -o nginx.tar.gz --probe 'curl -sf http://127.0.0.1:8080/' -- nginx -g 'daemon off;'
  scratchpack build -o rootfs.tar.gz --root /tmp/image -- /usr/bin/perl -e 'print "hi\n"'
  scratchpack build -o rootfs.tar.gz --collector fanotify -- python3 /app/batch.py
  scratchpack build -o app.tar.gz --seccomp-profile app.seccomp.json -- /app/server
  scratchpack build -o py.tar.gz --exec 'python3 /app/main.py --export csv' -- python3 /app/main.py
  scratchpack build --image docker://registry.example/fortune:1.0 --image oci:out/layout:1.0 -- /usr/games/fortune
  sudo scratchpack build --from registry.example/app:1.0 --image docker://registry.example/app:1.0-slim
  sudo scratchpack build --from docker-archive:app.tar --probe 'curl -sf http://127.0.0.1:8080/' -o app.tar.gz`,
		Args: func(cmd *cobra.Command, args []string) error {
			if from.ref != "" {
				return nil // the image's ENTRYPOINT and CMD
			}
			return needCommand("scratchpack build -o rootfs.tar.gz -- /usr/games/fortune")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			af.image.user = paths.user
			af.image.from = from.ref != ""
			popts, err := af.options(g, false)
			if err != nil {
				return err
			}
			topts, stop := tf.options(g)
			defer stop()
			if topts.Collector, err = tracer.ParseCollector(collector); err != nil {
				return usagef("--collector: %v", err)
			}
			for _, f := range execFiles {
				lines, err := scratchpack.ReadExecFile(f)
				if err != nil {
					return err
				}
				execs = append(execs, lines...)
			}
			var lo scratchpack.ListOptions
			paths.apply(&lo)
			opts := scratchpack.BuildOptions{
				Command:        args,
				Root:           tf.root,
				Dir:            tf.dir,
				Trace:          topts,
				FailOnExit:     tf.failOnExit,
				Strict:         strict,
				KeepLog:        keepLog,
				SeccompProfile: seccompProfile,
				LddFiles:       ldd,
				KeepCreated:    keepCreated,
				IgnoreMissing:  ignoreMissing,
				Paths:          lo.PathOptions,
				Warn:           g.warn,
				Pack:           popts,
				Execs:          execs,
				ReportHTML:     reportHTML,
				From:           from.options(g, af.image.insecure),
			}
			if verifyAfter {
				vo := vf.options(g, "", nil)
				vo.Collector, vo.Strict = "", false // the build's (Build fills them in)
				opts.Verify = &vo
			}
			if err := opts.Validate(); err != nil {
				return usageError{err}
			}
			res, err := scratchpack.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			g.summary(res)
			if res.Verify == nil {
				return nil
			}
			return g.verifyReport(res.Verify, false)
		},
	}
	tf.register(cmd)
	af.register(cmd)
	from.register(cmd)
	paths.register(cmd, false)
	f := cmd.Flags()
	f.BoolVar(&verifyAfter, "verify", false, "then run 'scratchpack verify' on the archive with the same command")
	vf.register(cmd, "verify-")
	f.StringArrayVar(&ldd, "ldd", nil, "also read this ldd output (repeatable)")
	f.StringVar(&collector, "collector", "ptrace", "how the files are seen: ptrace (scratchpack's own tracer: every name and lookup, stops the command at each file call), strace (the same through strace, which writes a log) or fanotify (opened and run files, without stopping it; needs CAP_SYS_ADMIN)")
	f.StringVar(&keepLog, "keep-log", "", "keep the strace log at this path (--collector strace; with fanotify: the narrow log)")
	f.StringVar(&seccompProfile, "seccomp-profile", "", "write a seccomp profile (JSON for --security-opt seccomp=FILE) allowing only the syscalls the command made and those the runtime needs to start it; traces every syscall (slower)")
	f.BoolVar(&keepCreated, "keep-created", false, "also pack files the command created while traced")
	f.BoolVar(&strict, "strict", false, "calls whose path the tracer could not read (a process that dropped privileges, traced without CAP_SYS_PTRACE) are an error, not a warning: nothing is written")
	f.BoolVar(&ignoreMissing, "ignore-missing", false, "warn about used paths that no longer exist instead of failing")
	f.StringArrayVar(&execs, "exec", nil, "also trace this shell command, after the command (or, with --probe, while the server runs); its files join the list (repeatable)")
	f.StringVar(&reportHTML, "report-html", "", "also write the report as one self-contained HTML page to FILE (treemap, packages, why each file is there, secrets)")
	f.StringArrayVar(&execFiles, "exec-file", nil, "read --exec commands from this file, one a line (# comments)")
	return cmd
}

// fromFlags are build --from's.
type fromFlags struct {
	ref, platform, cacheDir string
}

func (f *fromFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.ref, "from", "", "shrink this image: docker://REGISTRY/REPO:TAG, oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]; with nothing after --, its ENTRYPOINT and CMD are traced (needs root)")
	fl.StringVar(&f.platform, "platform", "", "with --from: the image of an index to use, os/arch[/variant] (default: the host's)")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "with --from: where pulled layers and image roots are cached (default: $XDG_CACHE_HOME/scratchpack)")
}

func (f *fromFlags) options(g *globals, insecure bool) scratchpack.FromOptions {
	o := scratchpack.FromOptions{Ref: f.ref, Platform: f.platform, CacheDir: f.cacheDir, Insecure: insecure, Progress: g.pullProgress()}
	if exe, err := os.Executable(); err == nil {
		o.Launcher = []string{exe, containerExecCommand}
	}
	return o
}

// summary prints what build made: counts, bytes, the largest files.
func (g *globals) summary(r *scratchpack.BuildResult) {
	if g.quiet {
		return
	}
	if s := r.Source; s != nil {
		cached := ""
		if s.Cached {
			cached = ", from the cache"
		}
		g.infof("from %s (%s): %s stored, %s of files%s\n", s.Ref, s.Digest, human(s.Size), human(s.RootSize), cached)
	}
	g.upxSummary(r.Pack.UPX)
	status := fmt.Sprintf("exit %d", r.Trace.ExitCode)
	if r.Trace.Stopped {
		status = "stopped after the probes"
		if len(r.Trace.Probes) == 0 {
			status = "stopped after --duration"
		}
	}
	how := "traced"
	if r.Trace.Watch != nil {
		how = fmt.Sprintf("watched (fanotify, %d files opened)", len(r.Trace.Watch.Accesses))
	}
	g.infof("%s %s (%s) in %s\n", how, r.Program, status, r.Trace.Elapsed.Round(time.Millisecond))
	g.packSummary(r.List, r.Pack)
	if s := r.Seccomp; s != nil {
		g.infof("seccomp profile: %d syscalls made by the command, %d more for the container runtime\n", s.Traced, s.Runtime)
	}
	if s := r.Source; s != nil && s.RootSize > 0 {
		_, _, _, _, bytes := r.List.Totals()
		g.infof("result: %s of files, %.1f%% of the image's %s (%.1fx smaller)\n", human(bytes), 100*float64(bytes)/float64(s.RootSize), human(s.RootSize), float64(s.RootSize)/float64(max(bytes, 1)))
	}
	if len(r.Largest) > 0 {
		g.infof("largest files:\n")
		for _, e := range r.Largest {
			g.infof("  %10s  %s\n", human(e.Size), e.Path)
		}
	}
}

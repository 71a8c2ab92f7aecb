package scratchpack

import (
	"context"
	"os"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/image"
	"github.com/scratchpack/scratchpack/image/source"
	"github.com/scratchpack/scratchpack/internal/sandbox"
)

// FromOptions name the image build --from starts from, and how it is
// opened.
type FromOptions struct {
	// Ref is docker://REGISTRY/REPO:TAG (or REGISTRY/REPO:TAG),
	// oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG].
	Ref string
	// Platform picks the image of an index: os/arch[/variant] (default:
	// the host's).
	Platform string
	// CacheDir holds the pulled layers and the applied roots (default:
	// under $XDG_CACHE_HOME).
	CacheDir string
	// Insecure allows plain http and unverified TLS for the registry.
	Insecure bool
	// Progress, when set, receives the progress of the pull.
	Progress func(source.Progress)
	// Launcher starts the command in the image's container (see
	// sandbox.Launch): LAUNCHER... RUNDIR ROOT DIR -- COMMAND...
	Launcher []string
}

// SourceImage is the image opened for build --from (image/source): its
// root (applied, cached, read-only, shared: the run never writes it),
// config, digest and sizes.
type SourceImage = source.Image

// openSource opens the image.
func openSource(ctx context.Context, o FromOptions) (*SourceImage, error) {
	return source.Open(ctx, o.Ref, source.Options{
		Platform: o.Platform,
		CacheDir: o.CacheDir,
		Insecure: o.Insecure,
		Progress: o.Progress,
	})
}

// BaseImage is what a result keeps of the image it was made from, beyond
// PackOptions' Cmd, Env and Workdir and ImageOptions' User, Ports and
// Labels.
type BaseImage struct {
	Name, Digest string
	Entrypoint   []string
	Volumes      []string
	StopSignal   string
	Healthcheck  *v1.HealthConfig
	Platform     image.Platform
}

// fromImage opens the image of o.From and returns the options of a build
// in it: the command (ENTRYPOINT + CMD unless one was given), its
// environment, working directory, user and container launcher, and the
// result's config (the image's, with the options' own on top). done
// removes the run's directory.
func (o BuildOptions) fromImage(ctx context.Context) (BuildOptions, *SourceImage, func(), error) {
	noop := func() {}
	if o.Root != "" && o.Root != "/" {
		return o, nil, noop, errors.New("--from and --root: give one (--from runs in the image's root)")
	}
	if o.KeepCreated {
		return o, nil, noop, errors.New("--keep-created with --from: the files the command writes stay in the run's overlay, not in the image; they are not packed")
	}
	if os.Geteuid() != 0 {
		return o, nil, noop, errors.Errorf("--from %s needs root (namespaces, mounts, pivot_root): run it with sudo or in a privileged job (see the README)", o.From.Ref)
	}
	if len(o.From.Launcher) == 0 {
		return o, nil, noop, errors.New("--from needs the container launcher (scratchpack provides one)")
	}
	src, err := openSource(ctx, o.From)
	if err != nil {
		return o, nil, noop, err
	}
	if n := len(src.Skipped); n > 0 {
		o.Warn(errors.Errorf("the image %s holds %d device node(s) that were not created (the run has its own /dev): %s", src.Ref, n, strings.Join(src.Skipped[:min(n, 3)], "; ")))
	}
	c := src.Config.Config
	if len(o.Command) == 0 {
		o.Command = append(append([]string{}, c.Entrypoint...), c.Cmd...)
		if len(o.Command) == 0 {
			return o, src, noop, errors.Errorf("the image %s has no ENTRYPOINT and no CMD: give the command after --", src.Ref)
		}
	}
	o.Root = src.Root
	if o.Env == nil {
		o.Env = append([]string{}, c.Env...)
		if envValue(o.Env, "PATH") == "" {
			o.Env = append(o.Env, "PATH="+image.DefaultPath)
		}
	}
	if o.Dir == "" {
		o.Dir = path.Clean("/" + c.WorkingDir)
	}
	user, err := sandbox.ResolveUser(src.Root, c.User)
	if err != nil {
		return o, src, noop, errors.WithMessagef(err, "the image %s: USER %q", src.Ref, c.User)
	}
	if namedUser(c.User) {
		// the runtime that runs the result looks the names up there
		o.Paths.Includes = append(append([]string{}, o.Paths.Includes...), "/etc/passwd", "/etc/group")
	}
	runDir, err := os.MkdirTemp("", "scratchpack-container-")
	if err != nil {
		return o, src, noop, errors.Wrap(err, "creating the container's directory")
	}
	done := func() { os.RemoveAll(runDir) }
	if err := (sandbox.Container{Root: src.Root, RunDir: runDir, User: user}).Prepare(); err != nil {
		done()
		return o, src, noop, err
	}
	o.Trace.Launcher = append(append([]string{}, o.From.Launcher...), runDir)
	o.containerDir = runDir
	o.provided = sandbox.HostFiles
	o.Trace.LauncherMounts = true
	o.Pack = o.Pack.withBase(src)
	return o, src, done, nil
}

// withBase is the pack's config on top of the source image's: its
// command, environment (keys overridden), working directory, user,
// ports, labels, and the rest in Image.Base.
func (p PackOptions) withBase(src *SourceImage) PackOptions {
	c := src.Config.Config
	if len(p.Cmd) == 0 {
		p.Cmd = c.Cmd
	}
	env := append([]string{}, c.Env...)
	for _, kv := range p.Env {
		k, v, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, v)
	}
	p.Env = env
	if p.Workdir == "" {
		p.Workdir = c.WorkingDir
	}
	if p.Image.User == "" {
		p.Image.User = c.User
	}
	p.Image.Ports = append(sortedKeys(c.ExposedPorts), p.Image.Ports...)
	var labels []string
	for _, k := range sortedKeys(c.Labels) {
		labels = append(labels, k+"="+c.Labels[k])
	}
	p.Image.Labels = append(labels, p.Image.Labels...) // later ones win
	baseName := src.Name
	if baseName == "" {
		baseName = src.Ref // an untagged layout or archive
	}
	p.Image.Base = &BaseImage{
		Name:        baseName,
		Digest:      src.Digest,
		Entrypoint:  c.Entrypoint,
		Volumes:     sortedKeys(c.Volumes),
		StopSignal:  c.StopSignal,
		Healthcheck: c.Healthcheck,
		Platform:    image.Platform{OS: src.Config.OS, Architecture: src.Config.Architecture, Variant: src.Config.Variant},
	}
	return p
}

// namedUser reports whether a USER names a user or a group (not only
// numbers): a runtime then reads /etc/passwd and /etc/group.
func namedUser(spec string) bool {
	for _, part := range strings.Split(spec, ":") {
		for _, c := range part {
			if c < '0' || c > '9' {
				return true
			}
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

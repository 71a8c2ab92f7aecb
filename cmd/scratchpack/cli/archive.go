package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scratchpack/scratchpack"
	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/tarball"
	"github.com/scratchpack/scratchpack/upx"
)

// archiveFlags are the flags of what pack and build write: the archive,
// the directory tree, the Dockerfile, and the UPX stage.
type archiveFlags struct {
	output, outputDir, compression string
	level                          int
	dockerfile, cmdJSON, workdir   string
	env                            []string
	upx                            upxFlags
	allowEmpty                     bool
	secrets                        string
	image                          imageFlags
	packages                       packageFlags
}

func (a *archiveFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&a.output, "output", "o", "", "archive to write (- for stdout)")
	f.StringVar(&a.outputDir, "output-dir", "", "also (or only) write the rootfs as a directory tree, for COPY --from")
	f.StringVar(&a.compression, "compression", "gzip", "gzip, zstd or none")
	f.IntVar(&a.level, "level", 0, "compression level (gzip 1-9, default 5: zlib's levels 4-9, about gzip -N's size, 5 within 1% of gzip -6; 1-3 fastest; zstd 1-22, default 3)")
	f.StringVar(&a.dockerfile, "dockerfile", "", "also write a Dockerfile: FROM scratch, ADD the archive, CMD")
	f.StringVar(&a.cmdJSON, "cmd", "", `the Dockerfile's and the image's command in exec form, as JSON: '["/usr/games/fortune"]'`)
	f.StringArrayVar(&a.env, "env", nil, "ENV KEY=VALUE for the Dockerfile and the image (repeatable)")
	f.StringVar(&a.workdir, "workdir", "", "WORKDIR for the Dockerfile and the image")
	f.BoolVar(&a.allowEmpty, "allow-empty", false, "write the archive even when it holds no file (by default that is an error)")
	f.StringVar(&a.secrets, "secrets", "warn", "private keys, cloud credentials, tokens and .env, .netrc, .pgpass credentials found in the files: warn, fail (nothing is written), exclude the files, or off (no scan)")
	a.upx.register(cmd)
	a.image.register(cmd)
	a.packages.register(cmd)
}

// options maps the flags. needCmd: --dockerfile needs --cmd (pack; build
// uses the traced command).
func (a *archiveFlags) options(g *globals, needCmd bool) (scratchpack.PackOptions, error) {
	var o scratchpack.PackOptions
	if a.output == "" && a.outputDir == "" && len(a.image.dests) == 0 {
		return o, usagef("no output: give -o FILE (- for stdout), --output-dir DIR or --image DEST")
	}
	comp, err := tarball.ParseCompression(a.compression)
	if err != nil {
		return o, usageError{err}
	}
	epoch, err := scratchpack.EpochFromEnv()
	if err != nil {
		return o, usageError{err}
	}
	if o.UPX, err = a.upx.options(); err != nil {
		return o, err
	}
	switch {
	case a.cmdJSON != "":
		if a.dockerfile == "" && len(a.image.dests) == 0 {
			return o, usagef("--cmd goes with --dockerfile or --image")
		}
		if o.Cmd, err = scratchpack.ParseCmd(a.cmdJSON); err != nil {
			return o, usageError{err}
		}
	case (a.dockerfile != "" || len(a.image.dests) > 0) && needCmd:
		return o, usagef(`--dockerfile and --image need a command: give --cmd '["/path/to/program", "arg"]'`)
	}
	if err := a.packages.options(&o); err != nil {
		return o, err
	}
	o.Output, o.OutputDir, o.Stdout = a.output, a.outputDir, g.out
	o.Dockerfile, o.Env, o.Workdir = a.dockerfile, a.env, a.workdir
	o.AllowEmpty = a.allowEmpty
	if o.Secrets, err = scratchpack.ParseSecretsMode(a.secrets); err != nil {
		return o, usageError{err}
	}
	o.Warn = g.warn
	o.Options = tarball.Options{Compression: comp, Level: a.level, Epoch: epoch, Progress: g.progress()}
	if o.Image, err = a.image.options(g); err != nil {
		return o, err
	}
	return o, nil
}

// packSummary says what was written.
func (g *globals) packSummary(l *filelist.List, r *scratchpack.PackResult) {
	if r.List != nil {
		l = r.List // with the package metadata
	}
	files, dirs, links, hard, bytes := l.Totals()
	if r.Output != "-" && r.Output != "" {
		g.infof("wrote %s: %d files (%s), %d symlinks, %d hardlinks, %d directories; %s compressed\n",
			r.Output, files, human(bytes), links, hard, dirs, human(r.Compressed))
	}
	if r.Dockerfile != "" {
		g.infof("wrote %s\n", r.Dockerfile)
	}
	g.imageSummary(r.Image)
	if r.Output != "-" { // stdout holds the archive: stderr stays quiet
		g.packagesSummary(r.Packages, r.SBOM)
		g.cutSummary(r.Cut, r.Completed)
	}
}

// upxFlags are the UPX stage's flags, shared by pack and build.
type upxFlags struct {
	on      bool
	path    string
	args    string
	exclude []string
}

func (u *upxFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&u.on, "upx", false, "pack ELF executables with UPX (never libraries, the loader, setuid files); each packed program is run to prove it starts")
	f.StringVar(&u.path, "upx-path", "", "the upx binary (default: upx or upx-ucl on PATH)")
	f.StringVar(&u.args, "upx-args", "-9 --lzma", "upx's arguments")
	f.StringArrayVar(&u.exclude, "upx-exclude", nil, "never pack files matching GLOB (repeatable)")
}

func (u *upxFlags) options() (*upx.Options, error) {
	if !u.on {
		if u.path != "" || len(u.exclude) > 0 {
			return nil, usagef("--upx-path and --upx-exclude go with --upx")
		}
		return nil, nil
	}
	pats, err := filelist.ParsePatterns(u.exclude)
	if err != nil {
		return nil, usageError{err}
	}
	return &upx.Options{Path: u.path, Args: strings.Fields(u.args), Exclude: pats}, nil
}

func (g *globals) upxSummary(r *upx.Result) {
	if r == nil || g.quiet {
		return
	}
	g.infof("UPX (%s):\n", r.Version)
	for _, f := range r.Files {
		if f.Packed {
			note := ""
			if f.Cached {
				note = " (cached)"
			}
			g.infof("  %10s -> %10s  %s%s\n", human(f.Before), human(f.After), f.Path, note)
		} else {
			g.warn(fmt.Errorf("UPX: %s kept as it is: %s", f.Path, f.Why))
		}
	}
}

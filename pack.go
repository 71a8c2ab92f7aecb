package scratchpack

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/filelist"
	"github.com/scratchpack/scratchpack/internal/atomicfile"
	"github.com/scratchpack/scratchpack/pkgmeta"
	"github.com/scratchpack/scratchpack/pkgmeta/units"
	"github.com/scratchpack/scratchpack/secrets"
	"github.com/scratchpack/scratchpack/tarball"
	"github.com/scratchpack/scratchpack/upx"
)

// PackOptions say how to write the rootfs archive.
type PackOptions struct {
	// Output is the archive path; "-" writes to Stdout.
	Output string
	// OutputDir, when set, also writes the rootfs as a directory tree
	// (links, modes, owners, hardlinks kept), for COPY --from: the
	// archive's entries, made as they are written (times clamped to
	// Epoch alike). It must not exist, or be empty.
	OutputDir string
	Stdout    io.Writer
	tarball.Options
	// Dockerfile, when set, is written beside: FROM scratch, ADD the
	// archive, and an exec-form CMD.
	Dockerfile string
	Cmd        []string
	Env        []string // KEY=VALUE
	Workdir    string
	// UPX, when set, packs the executables with UPX first (upx stage).
	UPX *upx.Options
	// AllowEmpty writes an archive with no file in it; by default a list
	// without files (directories at most) is an error.
	AllowEmpty bool
	// Secrets says what to do with the secrets found in the files (keys,
	// tokens, credentials: package secrets): warn (the default), fail,
	// exclude the files, or off. Warn receives the warnings.
	Secrets SecretsMode
	Warn    func(error)
	// Image, when it has destinations, also writes a container image
	// whose config holds Cmd, Env and Workdir as the Dockerfile does.
	Image ImageOptions
	// Packages: package metadata, licenses and the SBOM (packages.go).
	PackageOptions
}

// PackResult reports what was written.
type PackResult struct {
	tarball.Stats
	Output     string
	Dockerfile string
	UPX        *upx.Result
	// Secrets are the secrets found in the files (left out with
	// SecretsExclude), SecretsScan the time the scan took.
	Secrets     []secrets.Finding
	SecretsScan time.Duration
	Image       *ImageResult
	// List is the list as packed, with the package metadata, and
	// Packages the packages that own its files (nil without a database).
	List     *filelist.List
	Packages *pkgmeta.Result
	SBOM     string // the SBOM written, when asked
	// Cut is what the list keeps of each unit (OS package, Python
	// package, npm package, gem, Perl namespace) its files belong to,
	// most-cut first; Completed what --complete added in all.
	Cut       []Unit
	Completed Completed
	CutScan   time.Duration // the time the cut table took
}

// Validate checks the options that need no files: an output, and a
// Dockerfile only with an archive file and a valid command.
func (o PackOptions) Validate() error {
	if o.Output == "" && o.OutputDir == "" && len(o.Image.Dests) == 0 {
		return errors.New("no output: give -o FILE (or -o - for stdout), --output-dir DIR or --image DEST")
	}
	if o.Dockerfile != "" && o.Output == "-" {
		return errors.New("--dockerfile needs the archive in a file (-o FILE), not stdout")
	}
	if o.SBOM == "-" {
		return errors.New("--sbom needs a file, not stdout")
	}
	if _, err := pkgmeta.ParseFormat(o.SBOMFormat); err != nil {
		return err
	}
	if _, err := ParseSecretsMode(string(o.Secrets)); err != nil {
		return err
	}
	return distinctOutputs(o.outputFiles())
}

// distinctOutputs refuses two outputs written to the same file.
func distinctOutputs(files []string) error {
	seen := map[string]bool{}
	for _, f := range files {
		if f == "" || f == "-" {
			continue
		}
		p := filepath.Clean(f)
		if seen[p] {
			return errors.Errorf("%s is also another output: each output needs a file of its own", f)
		}
		seen[p] = true
	}
	return nil
}

// outputFiles are the files a pack writes: the archive, the Dockerfile,
// the SBOM and the image files and layouts (not OutputDir).
func (o PackOptions) outputFiles() []string {
	return append([]string{o.Output, o.Dockerfile, o.SBOM}, imagePaths(o.Image)...)
}

// PackFrom lists what the sources name (see List) and packs it (see
// Pack): the pack command.
func PackFrom(ctx context.Context, lo ListOptions, po PackOptions) (*filelist.List, *PackResult, error) {
	if err := po.Validate(); err != nil {
		return nil, nil, err
	}
	if _, err := units.ParseKinds(lo.Complete); err != nil {
		return nil, nil, err
	}
	lo.Outputs = append(append(lo.Outputs, po.OutputDir), po.outputFiles()...)
	l, err := List(ctx, lo)
	if err != nil {
		return nil, nil, err
	}
	r, err := Pack(ctx, l, po)
	return l, r, err
}

// Pack writes the list as a rootfs archive (atomically) and, when asked,
// a Dockerfile that uses it.
func Pack(ctx context.Context, l *filelist.List, opts PackOptions) (*PackResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if (opts.Dockerfile != "" || len(opts.Image.Dests) > 0) && opts.Image.Base == nil { // (--from: the image's own)
		if err := ValidateCmd(opts.Cmd); err != nil {
			return nil, err
		}
	}
	r := &PackResult{Output: opts.Output}
	// the package database: the files packages installed for the secret
	// scan, then the metadata and the cut table
	res, db, err := openPackages(l, opts)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if r.Secrets, err = scanSecrets(ctx, l, opts.Secrets, orDiscard(opts.Warn), packagedFiles(db)); err != nil {
		return nil, err
	}
	r.SecretsScan = time.Since(t0)
	if !opts.AllowEmpty {
		if err := checkNotEmpty(l); err != nil {
			return nil, err
		}
	}
	if opts.UPX != nil {
		restore, err := packUPX(ctx, l, *opts.UPX, r)
		if err != nil {
			return nil, err
		}
		defer restore()
	}
	packed, pkgs, err := addPackageMetadata(ctx, l, res, db, opts)
	if err != nil {
		return nil, err
	}
	r.List, r.Packages, r.SBOM = packed, pkgs, opts.SBOM
	// the image's files, with the copyright files the metadata added;
	// sizes as in the root, not as UPX packed them
	t0 = time.Now()
	if r.Cut, r.Completed, err = cutTable(ctx, packed, res, db, orDiscard(opts.Warn)); err != nil {
		return nil, err
	}
	r.CutScan = time.Since(t0)
	// --output-dir: the tree is made from the entries as the archive is
	// written (one read of the files for both)
	var tree *treeDir
	if opts.OutputDir != "" {
		if tree, err = startTree(opts.OutputDir); err != nil {
			return nil, err
		}
		defer tree.remove()
	}
	layer, err := writeArchive(ctx, packed, opts, r, tree.extractor())
	defer layer.remove()
	if err != nil {
		return nil, err
	}
	if err := tree.finish(); err != nil {
		return nil, err
	}
	if opts.Dockerfile != "" {
		if err := writeDockerfile(opts); err != nil {
			return nil, err
		}
		r.Dockerfile = opts.Dockerfile
	}
	if len(opts.Image.Dests) > 0 {
		img, err := writeImages(ctx, packed, opts, layer) // with the package metadata
		if err != nil {
			return nil, err
		}
		r.Image = img
	}
	return r, nil
}

// packUPX runs the UPX stage: the list's entries point at staged, packed
// copies until restore puts them back.
func packUPX(ctx context.Context, l *filelist.List, o upx.Options, r *PackResult) (restore func(), err error) {
	saved := make([]filelist.Entry, len(l.Entries))
	for i, e := range l.Entries {
		saved[i] = *e
	}
	if r.UPX, err = upx.Pack(ctx, l, o); err != nil {
		return nil, errors.WithMessage(err, "the UPX stage")
	}
	return func() {
		r.UPX.Cleanup()
		for i, e := range l.Entries {
			e.Content, e.Size = saved[i].Content, saved[i].Size
		}
	}, nil
}

// layerFile is the archive an image is made of: its path and the stats
// of its write, hashes included; tmp is the directory to remove when
// it is a temporary file.
type layerFile struct {
	path  string
	stats tarball.Stats
	tmp   string
}

func (l layerFile) remove() {
	if l.tmp != "" {
		os.RemoveAll(l.tmp)
	}
}

// writeArchive writes the archive to Output (a file, atomically, or
// Stdout for "-"). With images, the archive is their layer, hashed as
// it is written: without an archive file, it goes to a temporary file
// as well (for "-", in the same pass as to Stdout). x, when not nil,
// makes the tree of --output-dir from the entries as they are written,
// also without an archive.
func writeArchive(ctx context.Context, l *filelist.List, opts PackOptions, r *PackResult, x *tarball.Extractor) (layerFile, error) {
	o := opts.Options
	o.Hash = len(opts.Image.Dests) > 0
	if x != nil {
		o.Extractor = x
	}
	var w io.Writer
	switch opts.Output {
	case "":
		if !o.Hash {
			if o.Extractor == nil {
				return layerFile{}, nil
			}
			// the tree alone: the tar stream goes nowhere
			_, err := tarball.Write(ctx, io.Discard, l.Root, l.Entries, tarball.Options{Compression: tarball.None, Epoch: o.Epoch, Extractor: o.Extractor})
			return layerFile{}, err
		}
		o.Progress = nil
	case "-":
		if w = opts.Stdout; w == nil {
			w = os.Stdout
		}
		if !o.Hash {
			var err error
			r.Stats, err = tarball.Write(ctx, w, l.Root, l.Entries, o)
			return layerFile{}, err
		}
	default:
		st, err := tarball.WriteFile(ctx, opts.Output, l.Root, l.Entries, o)
		r.Stats = st
		return layerFile{path: opts.Output, stats: st}, err
	}
	dir, err := os.MkdirTemp("", "scratchpack-layer-")
	if err != nil {
		return layerFile{}, errors.Wrap(err, "creating a directory for the image layer")
	}
	lf := layerFile{path: filepath.Join(dir, "layer"), tmp: dir}
	f, err := os.Create(lf.path)
	if err != nil {
		return lf, errors.Wrap(err, "creating the image layer")
	}
	defer f.Close()
	out := io.Writer(f)
	if w != nil {
		out = io.MultiWriter(w, f)
	}
	if lf.stats, err = tarball.Write(ctx, out, l.Root, l.Entries, o); err != nil {
		return lf, errors.WithMessage(err, "writing the image layer")
	}
	if w != nil {
		r.Stats = lf.stats
	}
	return lf, errors.Wrap(f.Close(), "writing the image layer")
}

// writeDockerfile writes the Dockerfile, which ADDs the archive by its
// path relative to the Dockerfile's directory (the build context).
func writeDockerfile(opts PackOptions) error {
	rel, err := filepath.Rel(filepath.Dir(absOr(opts.Dockerfile)), absOr(opts.Output))
	if err != nil || strings.HasPrefix(rel, "..") {
		return errors.Errorf("the archive %s must be inside the Dockerfile's directory (its build context)", opts.Output)
	}
	df := Dockerfile(filepath.ToSlash(rel), opts.Cmd, opts.Env, opts.Workdir)
	if opts.Image.Base != nil {
		df = baseDockerfile(filepath.ToSlash(rel), opts)
	}
	return atomicfile.WriteFile(opts.Dockerfile, []byte(df), 0o644)
}

// treeDir is the rootfs as a directory tree (--output-dir), made by the
// archive's writer from the entries as it writes them (see
// tarball.Options.Extractor), in a temporary directory beside the
// target that finish renames into place.
type treeDir struct {
	dir, tmp string
	x        *tarball.Extractor
	done     bool
}

// startTree checks the target (missing or empty) and makes the
// temporary directory.
func startTree(dir string) (*treeDir, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, errors.Errorf("--output-dir %s is not empty", dir)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, errors.Wrap(err, "creating the output directory's parent")
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, errors.Wrap(err, "creating the output directory")
	}
	x := tarball.NewExtractor(tmp, tarball.ExtractOptions{Owners: os.Geteuid() == 0})
	x.Name = dir
	return &treeDir{dir: dir, tmp: tmp, x: x}, nil
}

func (t *treeDir) extractor() *tarball.Extractor {
	if t == nil {
		return nil
	}
	return t.x
}

// finish sets the directories' times and renames the tree into place,
// once every entry is in.
func (t *treeDir) finish() error {
	if t == nil {
		return nil
	}
	t.x.Finish()
	if err := os.Chmod(t.tmp, 0o755); err != nil {
		return errors.Wrap(err, "writing the output directory")
	}
	if entries, err := os.ReadDir(t.dir); err == nil {
		if len(entries) > 0 {
			return errors.Errorf("--output-dir %s is not empty", t.dir)
		}
		if err := os.Remove(t.dir); err != nil {
			return errors.Wrap(err, "replacing the empty output directory")
		}
	}
	if err := os.Rename(t.tmp, t.dir); err != nil {
		return errors.Wrapf(err, "renaming the output directory to %s", t.dir)
	}
	t.done = true
	return nil
}

// remove removes the temporary tree, unless finish renamed it.
func (t *treeDir) remove() {
	if !t.done {
		os.RemoveAll(t.tmp)
	}
}

func absOr(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// EpochFromEnv reads SOURCE_DATE_EPOCH (nil when unset).
func EpochFromEnv() (*time.Time, error) {
	s, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, errors.Errorf("SOURCE_DATE_EPOCH=%q: expected a number of seconds since 1970", s)
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}

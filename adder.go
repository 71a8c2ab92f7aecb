package scratchpack

import (
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"

	"github.com/scratchpack/scratchpack/collect"
	"github.com/scratchpack/scratchpack/collect/elfdeps"
	"github.com/scratchpack/scratchpack/filelist"
)

// maxInterpDepth bounds #! chains (the kernel allows 4 levels).
const maxInterpDepth = 8

// adder adds uses to the builder with what they bring along. Every
// failed addition goes through settle, the one policy for what it means.
type adder struct {
	b             *filelist.Builder
	ignoreMissing bool
	warn          func(error)
	path          []string
	secrets       map[string]bool   // secrets already warned about
	elf           *elfdeps.Resolver // made once: it parses each ELF file once
	// kept are the paths the command was given (ListOptions.Keep), with
	// what each is; "" once a user's exclude of it was warned about.
	kept map[string]string
	// provided are ListOptions.Provided.
	provided map[string]bool
}

func newAdder(b *filelist.Builder, opts ListOptions) *adder {
	a := &adder{b: b, ignoreMissing: opts.IgnoreMissing, warn: opts.Warn, path: opts.Path, secrets: map[string]bool{}, provided: map[string]bool{}}
	for _, p := range opts.Provided {
		a.provided[p] = true
	}
	return a
}

// failure says how an addition failed: what asked for the path, and
// what its failure may be forgiven for.
type failure struct {
	// exec: the path was run; an exclude that drops it is worth a warning.
	exec bool
	// gone: the program itself removed the path, so its absence is normal.
	gone bool
	// optional: a set's item that this root may lack.
	optional bool
}

// settle is the one error policy of List. It returns nil when the
// failure is not fatal (after warning when it is worth saying):
//   - an optional item that does not exist is skipped silently;
//   - an excluded path is left out; a secret is warned about once, a
//     program that was run and a path the command was given (its working
//     directory, its arguments) are warned about with the --include that
//     keeps them;
//   - a missing path is an error, unless the program removed it or the
//     runtime provides it (nothing said) or IgnoreMissing (a warning);
//   - a special file left out is a warning.
//
// Anything else comes back as it is.
func (a *adder) settle(err error, f failure) error {
	var (
		ex *filelist.ExcludedError
		me *filelist.MissingError
		se *filelist.SkippedError
	)
	switch {
	case err == nil:
		return nil
	case f.optional && errors.Is(err, fs.ErrNotExist):
		return nil
	case errors.As(err, &ex):
		if why, ok := a.kept[ex.Path]; ok && !ex.Secret && !ex.Default {
			if why != "" {
				a.warn(errors.Errorf("%s is %s, but --exclude %s leaves it out: --include %s keeps it", ex.Path, why, ex.Pattern, ex.Path))
				a.kept[ex.Path] = "" // once
			}
			return nil
		}
		if ex.Secret && !a.secrets[ex.Path] {
			a.secrets[ex.Path] = true
			a.warn(err)
		} else if f.exec {
			a.warn(errors.Errorf("%s was run but is excluded by %s: --include %s keeps it", ex.Path, ex.Pattern, ex.Path))
		}
		return nil
	case errors.As(err, &me):
		if f.gone || a.provided[me.Path] {
			return nil
		}
		if a.ignoreMissing {
			a.warn(err)
			return nil
		}
		return errors.WithMessage(err, "a listed path is missing (--ignore-missing makes this a warning)")
	case errors.As(err, &se):
		a.warn(err)
		return nil
	}
	return err
}

// warnTree is the callback of AddTree: an entry of a tree that cannot be
// added is never fatal.
func (a *adder) warnTree(err error) {
	if err := a.settle(err, failure{}); err != nil {
		a.warn(err)
	}
}

// addIncludes adds the --include paths, directories whole.
func (a *adder) addIncludes(includes []string) error {
	for _, inc := range includes {
		err := a.b.AddTree(inc, filelist.Reason{Source: filelist.SourceInclude}, a.warnTree)
		if err := a.settle(err, failure{}); err != nil {
			return errors.WithMessage(err, "--include")
		}
	}
	return nil
}

// addLists adds the paths of file lists.
func (a *adder) addLists(ctx context.Context, lists []string, stdin io.Reader) error {
	for _, name := range lists {
		reqs, err := readList(name, stdin)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			if err := ctx.Err(); err != nil {
				return err
			}
			_, err := a.b.Add(r.Path, r.Mode, r.Reason)
			if err := a.settle(err, failure{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// addUses adds what the collectors saw, but the logs and outputs.
func (a *adder) addUses(ctx context.Context, uses []collect.Use, drop *dropper, keepCreated bool) error {
	for _, u := range uses {
		if err := ctx.Err(); err != nil {
			return err
		}
		if drop.match(u.Path) {
			continue
		}
		if u.Created && keepCreated && u.Need == collect.NeedParent && !u.Gone {
			u.Need = collect.NeedFile
		}
		if err := a.add(u); err != nil {
			return err
		}
	}
	return nil
}

// resolver returns the ELF resolver shared by the sets and the deps pass.
func (a *adder) resolver(libraryPath []string) *elfdeps.Resolver {
	if a.elf == nil {
		a.elf = elfdeps.NewResolver(a.b.Resolver())
		a.elf.LibraryPath = libraryPath
	}
	return a.elf
}

func (a *adder) add(u collect.Use) error {
	why := filelist.Reason{Source: filelist.Source(u.Source), Detail: u.Detail, Where: u.Where, Exec: u.ExecTag}
	if u.RuntimeDir() {
		return a.runtimeDir(u, why)
	}
	mode := filelist.Follow
	switch u.Need {
	case collect.NeedLink:
		mode = filelist.NoFollow
	case collect.NeedParent:
		mode = filelist.Parent
	}
	canon, err := a.b.Add(u.Path, mode, why)
	if err != nil && a.usedRuntimeDir(u, why, err) {
		return nil
	}
	if err != nil {
		return a.settle(err, failure{exec: u.Exec, gone: u.Gone})
	}
	if !u.Exec {
		return nil
	}
	return a.interpreters(canon)
}

// interpreters adds what the kernel loads to run canon: the ELF program
// interpreter, or the "#!" interpreter (and, for "#!/usr/bin/env NAME",
// NAME found through PATH), recursively. strace never shows these.
func (a *adder) interpreters(canon string) error {
	for depth := 0; depth < maxInterpDepth && canon != ""; depth++ {
		exe, err := elfdeps.Inspect(a.b.Resolver().HostPath(canon))
		if err != nil {
			a.warn(errors.WithMessagef(err, "finding the interpreter of %s", canon))
			return nil
		}
		if exe.Interp == "" {
			return nil
		}
		src := collect.SourceInterp
		if exe.Kind == elfdeps.Script {
			src = collect.SourceShebang
		}
		next, err := a.b.Add(exe.Interp, filelist.Follow, filelist.Reason{Source: filelist.Source(src), Detail: "interpreter of " + canon})
		if err != nil {
			return a.settle(err, failure{exec: true})
		}
		if exe.Kind == elfdeps.Script && filepath.Base(exe.Interp) == "env" {
			if next, err = a.envProgram(next, exe.Arg, canon); err != nil || next == "" {
				return err
			}
		}
		canon = next
	}
	return nil
}

// envProgram adds what "#!/usr/bin/env ARG" runs for script: env's own
// interpreter, then the program ARG names, found through PATH. It
// returns the program's canonical path ("" when there is none to follow).
func (a *adder) envProgram(env, arg, script string) (string, error) {
	if err := a.interpreters(env); err != nil { // env itself is a program
		return "", err
	}
	name := envProgramName(arg)
	if name == "" {
		return "", nil
	}
	found, err := a.b.Resolver().LookPath(name, a.path, "/")
	if err != nil {
		err = &filelist.MissingError{Path: name, Reason: filelist.Reason{Source: filelist.Source(collect.SourceShebang), Detail: err.Error() + ", for " + script}}
		return "", a.settle(err, failure{})
	}
	next, err := a.b.Add(found, filelist.Follow, filelist.Reason{Source: filelist.Source(collect.SourceShebang), Detail: name + " through PATH, for " + script})
	if err != nil {
		return "", a.settle(err, failure{exec: true})
	}
	return next, nil
}

// envProgramName returns the program that "#!/usr/bin/env ARG" runs: the
// first word of ARG that is not an option or an assignment (env -S).
func envProgramName(arg string) string {
	for _, w := range strings.Fields(arg) {
		if strings.HasPrefix(w, "-") || strings.Contains(w, "=") {
			continue
		}
		return w
	}
	return ""
}

// resolveDeps adds the shared libraries of every ELF file in the list.
func (a *adder) resolveDeps(ctx context.Context, libraryPath []string) error {
	r := a.resolver(libraryPath)
	for _, p := range a.b.Files() {
		if err := ctx.Err(); err != nil {
			return err
		}
		tree, err := r.Resolve(p)
		if err != nil {
			if !elfdeps.IsNotELF(err) {
				a.warn(errors.WithMessagef(err, "resolving the libraries of %s", p))
			}
			continue
		}
		for _, l := range tree.Libs {
			detail := "interpreter of " + p
			if l.By != "" {
				detail = l.Name + " needed by " + l.By
			}
			_, err := a.b.Add(l.Path, filelist.Follow, filelist.Reason{Source: filelist.SourceELF, Detail: detail})
			if err := a.settle(err, failure{}); err != nil {
				return err
			}
		}
		for _, c := range tree.Config { // musl's search path file
			_, err := a.b.Add(c, filelist.Follow, filelist.Reason{Source: filelist.SourceELF, Detail: "library search path of the loader of " + p})
			if err := a.settle(err, failure{}); err != nil {
				return err
			}
		}
		for _, m := range tree.Missing {
			a.warn(errors.Errorf("library %s: not found (the program may fail to start)", m))
		}
	}
	return nil
}

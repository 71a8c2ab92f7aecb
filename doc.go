// Package scratchpack shrinks a container image to what one program
// needs. It composes the stages (collect -> filelist -> upx -> tarball)
// into the operations the CLI exposes, one file per verb:
//
//   - List (list.go): collect what a program used and resolve it into a
//     file list; the adder (adder.go) brings what each use needs along,
//     with one policy for what a failed addition means; complete.go keeps
//     whole the units (pkgmeta/units) of the kept files on request.
//   - Pack (pack.go): write a list as a rootfs archive, a directory tree,
//     a Dockerfile (dockerfile.go) and images (image.go), with package
//     metadata and an SBOM (packages.go), a secret scan (secretscan.go) and
//     the table of what it cut of each package (cut.go).
//   - Build (build.go): trace a command and its --exec runs (exec.go),
//     list, pack, and verify: the one command; Trace (trace.go) runs the
//     trace alone.
//   - Deps (deps.go), DescribeSets (sets.go), Inspect (inspect.go).
//
// Commands only map flags to one of these functions, and tests call
// them directly. A stage never imports this package.
package scratchpack

// Version is set at build time with -ldflags "-X ...Version=v1.2.3".
var Version = "dev"

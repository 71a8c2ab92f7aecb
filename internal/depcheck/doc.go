// Package depcheck holds scratchpack's layering and checks a package
// graph against it; its test checks the graph `go list -deps` gives.
//
// Data flows collect -> filelist -> upx -> tarball -> verify -> the root
// package -> cmd, over helpers in internal/. A package may import its own
// layer and earlier ones, never a later one: a stage never imports a later
// stage, the root package or cmd, and internal/ imports no stage. A
// package in none of the layers (a new one such as pkgmeta/ or image/)
// may import any stage and other such packages, but never the root
// package or cmd; whoever imports it inherits what it imports, so a stage
// cannot reach a later one through it either.
//
// Only what the program is built from counts: tests may import later
// layers (verify's tests build archives with the root package).
package depcheck

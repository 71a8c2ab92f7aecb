// Package testenv holds what scratchpack's tests need of the machine.
// A missing tool skips a test with the reason, but fails it in CI
// (CI=true), which must run the core checks: `make test-deps` installs
// every tool (Need, NeedRoot). It also builds the fixtures that need
// tools: a musl root (NewMuslRoot) and a local registry (StartRegistry).
package testenv

// Command static is a statically linked program (built with
// CGO_ENABLED=0) for the tests: it has no PT_INTERP.
package main

func main() {}

package scratchpack

import "github.com/scratchpack/scratchpack/collect/tracer"

// UnreadableFix is what to do about paths strace could not read.
const UnreadableFix = tracer.UnreadableFix

// UnreadablePtraceFix is what to do about paths scratchpack's own
// tracer could not read (see tracer.UnreadablePtraceFix).
const UnreadablePtraceFix = tracer.UnreadablePtraceFix

// UnreadableError is a trace in which processes made calls whose path
// the collector could not read: a build warns with one per process;
// with Strict it fails with one naming them all (see
// tracer.UnreadableError, which verify reports too).
type UnreadableError = tracer.UnreadableError

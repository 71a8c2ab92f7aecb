// Package atomicfile writes a file so that the target path only ever
// holds a complete file: the data goes to a temporary file in the same
// directory (Create, WriteFile), which is synced and renamed over the
// target on Commit. A failure, a cancel or a kill (Abort, or no Commit)
// leaves the target as it was.
package atomicfile

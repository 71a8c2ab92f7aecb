// Package ldd parses the output of ldd: glibc's ("libc.so.6 =>
// /lib/x86_64-linux-gnu/libc.so.6 (0x...)") and musl's (the same shape,
// with "Error loading shared library" messages), for one binary or for
// several (each introduced by a "FILE:" line).
//
// A library that ldd could not find ("=> not found") is an error that
// names the library and the binary: an image built without it would not
// start. The vdso is ignored; "statically linked" and "not a dynamic
// executable" are valid answers with no libraries.
package ldd

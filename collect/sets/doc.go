// Package sets names groups of files that a trace of one run may miss
// because programs read them only on some paths: name resolution (nss),
// TLS certificates (certs), time zones (tzdata), locales (locale), user
// databases (users), and a shell for debugging (shell). Each set knows
// the Debian/Ubuntu (glibc), Alpine (musl) and RHEL-family layouts and
// brings only what exists in the root (Lookup, Names).
package sets

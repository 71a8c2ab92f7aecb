#!/usr/bin/env bash
# The seccomp profile that `build --seccomp-profile` writes, under podman
# (--security-opt seccomp=FILE): a C program built here (glibc, its
# libraries packed) runs normally; asked to make a syscall it did not make
# while traced (sysinfo, getcpu) it gets EPERM, which it does not without
# the profile; and the same profile without the runtime's rule stops the
# container before the program starts (what the runtime rule is for).
set -euo pipefail
cd "$(dirname "$0")/.."
PODMAN=${PODMAN:-"podman --storage-driver vfs --runtime runc"}
LIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
SP=${SP:-$PWD/bin/scratchpack}
TAG=localhost/scratchpack-e2e-seccomp:latest
fail=0
say() { printf '%s\n' "$*"; }
check() { # name, expected (a grep -E pattern), actual
  if printf '%s' "$3" | grep -qE -- "$2"; then say "   ok   $1: $(printf '%s' "$3" | head -c 120 | tr '\n' ' ')"
  else say "   FAIL $1: expected /$2/, got: $3"; fail=1; fi
}
# not under /tmp: build leaves /tmp's contents out by default
work=$(mktemp -d /var/lib/scratchpack-e2e-seccomp.XXXXXX)
trap '$PODMAN rmi -f $TAG >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
chmod 755 "$work"

say "== seccomp profile (build --seccomp-profile, podman --security-opt seccomp=FILE)"
cat > "$work/sys.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
	long r;
	if (argc < 2) { puts("ok"); return 0; }
	if (!strcmp(argv[1], "sysinfo")) { char buf[256]; r = syscall(SYS_sysinfo, buf); }
	else if (!strcmp(argv[1], "getcpu")) { unsigned c, n; r = syscall(SYS_getcpu, &c, &n, 0); }
	else { fprintf(stderr, "unknown call %s\n", argv[1]); return 2; }
	printf("%s: %s\n", argv[1], r == 0 ? "0" : strerrorname_np(errno));
	return 0;
}
C
gcc -O2 -o "$work/sys" "$work/sys.c"
"$SP" build -o "$work/sys.tar.gz" --seccomp-profile "$work/sys.json" -- "$work/sys" > "$work/build.out" 2>&1 \
  || { cat "$work/build.out"; exit 1; }
$PODMAN import -q "$work/sys.tar.gz" $TAG > /dev/null
run() { $PODMAN run --rm $LIMITS --network none "$@" 2>&1 || true; }
prof="--security-opt seccomp=$work/sys.json"
for i in 1 2 3; do
  check "with the profile, run $i" '^ok$' "$(run $prof $TAG "$work/sys")"
done
check "sysinfo, not made while traced" '^sysinfo: EPERM$' "$(run $prof $TAG "$work/sys" sysinfo)"
check "getcpu, not made while traced" '^getcpu: EPERM$' "$(run $prof $TAG "$work/sys" getcpu)"
check "sysinfo without the profile" '^sysinfo: 0$' "$(run $TAG "$work/sys" sysinfo)"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); p["syscalls"]=p["syscalls"][:1]; json.dump(p, open(sys.argv[2], "w"))' \
  "$work/sys.json" "$work/traced-only.json"
check "the traced calls alone do not let the runtime start it" 'operation not permitted' \
  "$(run --security-opt seccomp="$work/traced-only.json" $TAG "$work/sys")"
# The runtime's own calls, measured here: every call of runc init's threads
# from its loading of the filter to its exec, each allowed by the profile.
if command -v strace > /dev/null; then
  strace -f -Y -o "$work/podman.log" $PODMAN run --rm $LIMITS --network none $prof $TAG "$work/sys" > /dev/null 2>&1 || true
  calls=$(python3 - "$work/podman.log" <<'PY'
import re, sys
load = re.compile(r'^\d+<runc:\[2:INIT\]> (prctl\(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, \{|seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{)')
line_re = re.compile(r'^(\d+)<([^>]*)> (?:<\.\.\. (\w+) resumed>|(\w+)\()')
names, on = set(), False
for line in open(sys.argv[1], errors='replace'):
    if not on:
        m = load.match(line)
        if m:
            on = True
            names.add(m.group(1).split('(')[0])
        continue
    m = line_re.match(line)
    if m and m.group(2) == 'runc:[2:INIT]' and m.group(4):
        names.add(m.group(4))
        if m.group(4) == 'execve':
            break
print(' '.join(sorted(names)))
PY
)
  missing=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); ok={n for s in p["syscalls"] for n in s["names"]}; print(" ".join(n for n in sys.argv[2].split() if n not in ok))' "$work/sys.json" "$calls")
  check "runc init's calls after loading the filter ($(echo $calls | wc -w)) are all allowed" '^ok$' "$([ -n "$calls" ] && [ -z "$missing" ] && echo ok || echo "measured: '$calls'; not allowed: '$missing'")"
  say "   runc init after the filter: $calls"
fi
counts=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(" + ".join("%d (%s)" % (len(s["names"]), s["comment"].split(" (")[0]) for s in p["syscalls"]))' "$work/sys.json")
say "   profile: $counts; $(stat -c %s "$work/sys.json") bytes; archive $(stat -c %s "$work/sys.tar.gz") bytes"
if [ $fail -ne 0 ]; then say "e2e-seccomp: FAILED"; exit 1; fi

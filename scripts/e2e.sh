#!/usr/bin/env bash
# End to end with a real container engine: makes the builder image
# (debootstrap + podman import, cached), scratchpack's own image, then for
# every example both the two-step and the multi-stage images, runs them with
# --network none, checks what they print, and prints each image's size
# beside the builder's. Also builds, as it is, the Dockerfile that
# `scratchpack build --dockerfile` writes.
#
# Afterwards (even when a check fails) it removes every image it built and
# the archives the examples copied out, and keeps only the cached builder
# (localhost/scratchpack-builder:bookworm, and its debootstrap cache);
# KEEP_IMAGES=1 keeps them to look into a failure. `scripts/e2e.sh clean`
# removes what an interrupted run left, `scripts/e2e.sh clean-all` the
# builder and its cache too (make clean-e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
export PODMAN=${PODMAN:-"podman --storage-driver vfs --runtime runc"}
# no intermediate image per build step: nothing to leave behind
export BUILDFLAGS=${BUILDFLAGS:---layers=false}
LIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
BUILDER=localhost/scratchpack-builder:bookworm
CACHE=${CACHE:-/var/cache/scratchpack-e2e}
ALL_EXAMPLES="fortune python tls nginx"
EXAMPLES=${EXAMPLES:-$ALL_EXAMPLES} # EXAMPLES=fortune: a quick run (no fanotify part)
fail=0

# the images this script builds (the builder aside)
built_images() {
  echo localhost/scratchpack:dev localhost/scratchpack-generated:latest
  for ex in $ALL_EXAMPLES; do echo "localhost/scratchpack-example-$ex:"{builder,latest,multistage}; done
  for ex in python nginx; do echo "localhost/scratchpack-example-$ex-fanotify:"{builder,latest}; done
}
remove_built() {
  local n=0
  for img in $(built_images); do
    if $PODMAN image exists "$img"; then $PODMAN rmi -f "$img" >/dev/null && n=$((n + 1)); fi
  done
  for ex in $ALL_EXAMPLES; do make -s -C "examples/$ex" clean; done
  echo "e2e: removed the $n images it built and the examples' archives; kept the cached builder $BUILDER (make clean-e2e removes it and its cache $CACHE)"
}
case ${1:-} in
  clean) remove_built; exit 0 ;;
  clean-all)
    remove_built
    if $PODMAN image exists $BUILDER; then $PODMAN rmi -f $BUILDER >/dev/null; fi
    rm -rf "$CACHE"
    echo "e2e: removed the builder $BUILDER and its cache $CACHE"
    exit 0 ;;
  "") ;;
  *) echo "usage: $0 [clean|clean-all]" >&2; exit 2 ;;
esac
if [ "${KEEP_IMAGES:-0}" != 1 ]; then trap remove_built EXIT; fi
say() { printf '%s\n' "$*"; }
check() { # name, expected (a grep -E pattern), actual
  if printf '%s' "$3" | grep -qE -- "$2"; then say "   ok   $1: $(printf '%s' "$3" | head -c 120 | tr '\n' ' ')"
  else say "   FAIL $1: expected /$2/, got: $3"; fail=1; fi
}
size() { $PODMAN image inspect --format '{{.Size}}' "$1"; }

say "== images: builder (debootstrap, cached) and scratchpack"
make -s -C examples builder
make -s -C examples scratchpack >/dev/null

say "== examples"
for ex in $EXAMPLES; do
  tag=localhost/scratchpack-example-$ex
  make -s -C examples/$ex clean
  make -s -C examples/$ex image >/dev/null
  make -s -C examples/$ex multistage >/dev/null
  case $ex in
    fortune)
      check "fortune (two-step)" '[a-zA-Z]' "$(make -s -C examples/$ex run 2>&1)"
      check "fortune (multi-stage)" '[a-zA-Z]' "$(make -s -C examples/$ex run-multistage 2>&1)" ;;
    python)
      want=$($PODMAN run --rm $LIMITS --network none -v "$PWD/examples/python/app.py:/app.py:ro" $BUILDER python3 /app.py)
      check "python (two-step)" "^$(printf '%s' "$want" | sed 's/[][{}.^$*+?()|\\]/\\&/g')\$" "$(make -s -C examples/$ex run 2>&1)"
      check "python (multi-stage)" "^$(printf '%s' "$want" | sed 's/[][{}.^$*+?()|\\]/\\&/g')\$" "$(make -s -C examples/$ex run-multistage 2>&1)" ;;
    tls)
      check "tls (two-step)" '^localhost -> 127\.0\.0\.1; CA certificates: many; verify: True$' "$(make -s -C examples/$ex run 2>&1)"
      check "tls (multi-stage)" '^localhost -> 127\.0\.0\.1; CA certificates: many; verify: True$' "$(make -s -C examples/$ex run-multistage 2>&1)" ;;
    nginx)
      check "nginx (two-step) answers" '^served$' "$(make -s -C examples/$ex check >/dev/null 2>&1 && echo served || echo 'no answer')"
      check "nginx (multi-stage) answers" '^served$' "$(make -s -C examples/$ex check TAGSUFFIX=multistage >/dev/null 2>&1 && echo served || echo 'no answer')" ;;
  esac
  printf '   size %-8s %10s bytes (multi-stage %s), builder %s bytes\n' "$ex" "$(size $tag:latest)" "$(size $tag:multistage)" "$(size $BUILDER)"
done

say "== security scanners on the images (package metadata)"
EXAMPLES="$EXAMPLES" bash scripts/e2e-sbom.sh || fail=1

if [ "$EXAMPLES" = "$ALL_EXAMPLES" ]; then
say "== the fanotify collector in a container build (--cap-add SYS_ADMIN)"
want=$($PODMAN run --rm $LIMITS --network none -v "$PWD/examples/python/app.py:/app.py:ro" $BUILDER python3 /app.py)
make -s -C examples/python clean
make -s -C examples/python image COLLECTOR=fanotify >/dev/null
check "python (fanotify)" "^$(printf '%s' "$want" | sed 's/[][{}.^$*+?()|\\]/\\&/g')\$" "$(make -s -C examples/python run COLLECTOR=fanotify 2>&1)"
make -s -C examples/nginx clean
make -s -C examples/nginx image COLLECTOR=fanotify >/dev/null
check "nginx (fanotify) answers" '^served$' "$(make -s -C examples/nginx check COLLECTOR=fanotify >/dev/null 2>&1 && echo served || echo 'no answer')"
printf '   size python-fanotify %s bytes (strace: %s), nginx-fanotify %s bytes (strace: %s)\n' \
  "$(size localhost/scratchpack-example-python-fanotify:latest)" "$(size localhost/scratchpack-example-python:latest)" \
  "$(size localhost/scratchpack-example-nginx-fanotify:latest)" "$(size localhost/scratchpack-example-nginx:latest)"
make -s -C examples/python clean
make -s -C examples/nginx clean
fi

say "== the Dockerfile that build --dockerfile writes, as it is"
out=$(mktemp -d)
$PODMAN run --rm $LIMITS --network none -v "$out:/out" -v "$PWD/bin/scratchpack:/usr/local/bin/scratchpack:ro" $BUILDER \
  scratchpack build -q -o /out/rootfs.tar.gz --dockerfile /out/Dockerfile -- /usr/games/fortune -s >/dev/null
$PODMAN build -q $BUILDFLAGS $LIMITS -t localhost/scratchpack-generated:latest "$out" >/dev/null
check "generated Dockerfile" '[a-zA-Z]' "$($PODMAN run --rm $LIMITS --network none localhost/scratchpack-generated:latest 2>&1)"
rm -rf "$out"

bash scripts/e2e-seccomp.sh || fail=1
bash scripts/e2e-image.sh || fail=1

say "== servers (issue 16): postgres twice after an unclean stop, mariadb, apache with mod_php"
bash scripts/e2e-servers.sh || fail=1

say "== build --from (issue 23): images of the builder through a registry, podman save and skopeo's OCI layout"
# TestBuildFrom logs its measurements (MEASURE lines); it removes its images
fromlog=$(mktemp)
SCRATCHPACK_E2E_FROM=1 go test -count=1 -v -timeout 20m -run '^TestBuildFrom$' ./cmd/scratchpack/cli >"$fromlog" 2>&1 || { cat "$fromlog"; fail=1; }
grep -aE -- '--- (PASS|FAIL|SKIP)|MEASURE' "$fromlog" || true
rm -f "$fromlog"

say "== servers that drop privileges, built in a podman build without CAP_SYS_PTRACE (issue 21)"
bash scripts/e2e-docker-build.sh || fail=1

if [ $fail -ne 0 ]; then say "e2e: FAILED"; exit 1; fi
say "e2e: all images built and ran"

#!/usr/bin/env bash
# End to end of issue 21's main use: `RUN scratchpack build` in a builder
# stage of a `podman build` with the default capabilities and seccomp
# profile (no --cap-add: no CAP_SYS_PTRACE). One build (see
# e2e-docker-build/) installs apache with mod_php (prefork) and mariadb
# (--user=mysql) from Debian's packages on the cached e2e builder, and
# builds both servers with scratchpack under each collector, then again
# with --strict. Then, for each collector:
#  - strace: both builds warn and name the workers that dropped privileges
#    (apache2 as www-data, mariadbd as mysql), with --strict they fail and
#    write nothing;
#  - ptrace (scratchpack's own tracer): no such warning, --strict passes,
#    and the images, imported and run by podman, answer their probes as
#    the builder did. These runs need the collector: until it exists
#    (`scratchpack build --collector ptrace` is refused) they are skipped,
#    and said so.
# RUN_STRACE_IMAGES=1 also runs the images strace made and prints what they
# answer (they are expected to miss the files the workers used: apache's
# does not answer; this costs a minute or two, so it is off by default).
#
# Usage: scripts/e2e-docker-build.sh [COLLECTOR...]   (default: strace ptrace)
# AP_PORT, MY_PORT (default 21080, 21306): the host ports the images
# listen on when run. Every image it makes is removed; apt's downloads are
# cached in $CACHE (the e2e builder's cache directory).
set -euo pipefail
cd "$(dirname "$0")/.."
PODMAN=${PODMAN:-"podman --storage-driver vfs --runtime runc"}
LIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
BUILDER=${BUILDER:-localhost/scratchpack-builder:bookworm}
CACHE=${CACHE:-/var/cache/scratchpack-e2e}
AP_PORT=${AP_PORT:-21080} MY_PORT=${MY_PORT:-21306}
TAG=localhost/scratchpack-e2e-dbuild
SP=$PWD/bin/scratchpack
collectors=("$@")
[ ${#collectors[@]} -gt 0 ] || collectors=(strace ptrace)
fail=0
say() { printf '%s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
ok() { say "   ok   $*"; }
bad() { say "   FAIL $*"; fail=1; }
images=()
D=$(mktemp -d /srv/scratchpack-e2e-dbuild.XXXXXX)
cleanup() {
  for c in ap my; do $PODMAN rm -f -t 0 "scratchpack-e2e-dbuild-$c" >/dev/null 2>&1 || true; done
  for i in "${images[@]}"; do $PODMAN rmi -f "$i" >/dev/null 2>&1 || true; done
  rm -rf "$D"
}
trap cleanup EXIT

for tool in curl mariadb awk; do
  command -v $tool >/dev/null || { say "e2e-docker-build: $tool is missing (scripts/deps.sh installs it)"; exit 1; }
done
[ -x "$SP" ] || { say "e2e-docker-build: $SP is missing (make build)"; exit 1; }
$PODMAN image exists "$BUILDER" || make -s -C examples builder
for port in $AP_PORT $MY_PORT; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then say "e2e-docker-build: port $port is in use"; exit 1; fi
done

# The collectors this scratchpack has: the others are skipped, and said so.
run=()
for c in "${collectors[@]}"; do
  msg=$("$SP" build -q -o "$D/probe.tar.gz" --collector "$c" -- /bin/true 2>&1 || true)
  if printf '%s' "$msg" | grep -q "unknown collector"; then
    say "   SKIP the $c collector: this scratchpack does not have it yet (build --collector $c is refused)"
  else
    run+=("$c")
  fi
done
rm -f "$D/probe.tar.gz" "$D/probe.report.json"
[ ${#run[@]} -gt 0 ] || { say "e2e-docker-build: no collector to run"; exit 1; }

say "== podman build, default capabilities and seccomp: apache+mod_php and mariadb built with ${run[*]}"
ctx=$D/ctx out=$D/out
mkdir -p "$ctx" "$out" "$CACHE/apt-archives" "$CACHE/apt-lists"
cp scripts/e2e-docker-build/Dockerfile scripts/e2e-docker-build/inside.sh scripts/e2e-apache.conf.in "$SP" "$ctx/"
t0=$(now)
images+=("$TAG:build")
if ! $PODMAN build -q --layers=false $LIMITS -t "$TAG:build" \
    -v "$out:/out" -v "$CACHE/apt-archives:/var/cache/apt/archives" -v "$CACHE/apt-lists:/var/lib/apt/lists" \
    --build-arg BUILDER="$BUILDER" --build-arg COLLECTORS="${run[*]}" --build-arg AP_PORT="$AP_PORT" --build-arg MY_PORT="$MY_PORT" \
    "$ctx" >"$D/podman-build.log" 2>&1; then
  say "   FAIL the podman build:"; tail -15 "$D/podman-build.log" | sed 's/^/      /'; tail -5 "$out/apt.log" 2>/dev/null | sed 's/^/      /'
  exit 1
fi
$PODMAN rmi -f "$TAG:build" >/dev/null 2>&1 || true # (what matters went to $out)
say "   built in $(since "$t0"); in the build: $(tr '\n' ' ' < "$out/status")"
caps=$(awk '/^CapEff/ { print $2 }' "$out/status")
# CAP_SYS_PTRACE is bit 19
if [ $(( 0x$caps >> 19 & 1 )) = 0 ]; then ok "no CAP_SYS_PTRACE in the build (CapEff $caps)"; else bad "the build had CAP_SYS_PTRACE (CapEff $caps)"; fi
grep -q 'mpm_prefork' "$out/apache-mods" && ok "apache runs the prefork MPM (mod_php)" || bad "apache is not prefork: $(tr '\n' ' ' < "$out/apache-mods")"
read -r _ wwwuid _ myuid < "$out/ids"

# image NAME ARCHIVE CMD-JSON: import a rootfs as an image with its CMD
image() {
  $PODMAN import -q --change "CMD $3" "$2" "$1" >/dev/null
  images+=("$1")
}
# serve IMAGE PROBE: run it (host network: it listens on 127.0.0.1), print
# what the probe gets once it answers (nothing after 60s), then stop it
serve() {
  local c=scratchpack-e2e-dbuild-$3 out=""
  $PODMAN run -d --rm $LIMITS --network host --name "$c" "$1" >/dev/null
  for _ in $(seq 300); do
    if out=$(sh -c "$2" 2>/dev/null) && [ -n "$out" ]; then break; fi
    out=""
    sleep 0.2
  done
  $PODMAN stop -t 10 "$c" >/dev/null 2>&1 || true
  printf '%s' "$out"
}
APQ="curl -sf http://127.0.0.1:$AP_PORT/"
MYQ="mariadb -h 127.0.0.1 -P $MY_PORT -uprobe -pprobe -N -e 'select concat(v, \" \", 6*7) from app.t'"

for c in "${run[@]}"; do
  for name in ap my; do
    case $name in
      ap) prog=/usr/sbin/apache2 uid=$wwwuid q=$APQ cmd='["/usr/sbin/apache2","-f","/srv/e2e/apache.conf","-D","FOREGROUND"]' ;;
      my) prog=/usr/sbin/mariadbd uid=$myuid q=$MYQ cmd="[\"/usr/sbin/mariadbd\",\"--user=mysql\",\"--datadir=/srv/e2e/my\",\"--port=$MY_PORT\",\"--bind-address=127.0.0.1\"]" ;;
    esac
    o=$out/$c/$name s=$out/$c/$name--strict
    say "== $name ($prog), collector $c: built in $(cat "$o.seconds")s, --strict in $(cat "$s.seconds")s"
    if [ "$(cat "$o.rc")" != 0 ] || [ ! -s "$o.tar.gz" ]; then
      bad "$c build of $name: exit $(cat "$o.rc")"; tail -5 "$o.build" | sed 's/^/      /'; continue
    fi
    want=$(cat "$o.want" 2>/dev/null || true)
    [ -n "$want" ] && ok "the builder's probe answered: $want" || bad "the builder's probe got nothing"
    warned=$(grep -c 'could not be read' "$o.build" || true)
    workers=$(grep -c "($prog, uid $uid)" "$o.build" || true)
    case $c in
      strace)
        if [ "$workers" -gt 0 ]; then ok "warned for $warned process(es), $workers of them $prog workers as uid $uid: $(grep -m1 "($prog, uid $uid)" "$o.build" | cut -c1-160)"
        else bad "no warning names the $prog workers (uid $uid): $(grep -m2 'warning' "$o.build" | cut -c1-200)"; fi
        if [ "$(cat "$s.rc")" = 1 ] && grep -q -- '--strict: ' "$s.build" && [ ! -e "$s.tar.gz" ] && [ ! -e "$s.report.json" ]; then
          ok "--strict fails (exit 1) and writes nothing: $(grep -m1 -o -- '--strict: [^:]*' "$s.build")"
        else bad "--strict: exit $(cat "$s.rc"), archive $( [ -e "$s.tar.gz" ] && echo written || echo none): $(tail -2 "$s.build")"; fi ;;
      *)
        [ "$warned" = 0 ] && ok "no call went unread" || bad "$warned process(es) with unread paths: $(grep -m1 'could not be read' "$o.build" | cut -c1-200)"
        [ "$(cat "$s.rc")" = 0 ] && ok "--strict passes" || bad "--strict: exit $(cat "$s.rc"): $(tail -2 "$s.build")" ;;
    esac
    if [ "$c" = strace ] && [ "${RUN_STRACE_IMAGES:-0}" != 1 ]; then continue; fi
    t0=$(now)
    image "$TAG-$name-$c:latest" "$o.tar.gz" "$cmd"
    got=$(serve "$TAG-$name-$c:latest" "$q" "$name")
    $PODMAN rmi -f "$TAG-$name-$c:latest" >/dev/null 2>&1 || true
    note="the image ($(stat -c %s "$o.tar.gz") bytes compressed), run by podman in $(since "$t0")"
    if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "$note, answers as the builder"
    elif [ "$c" = strace ]; then say "   note $note, does not answer as the builder (got '$got'): the files the workers used were not seen"
    else bad "$note: expected '$want', got '$got'"; fi
  done
done

if [ $fail -ne 0 ]; then say "e2e-docker-build: FAILED"; exit 1; fi
say "e2e-docker-build: every check passed (${run[*]})"

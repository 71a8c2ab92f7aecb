#!/usr/bin/env bash
# Benchmarks scratchpack against the tools users would otherwise use, on
# the same machine in the same run, and prints ratios. BENCH_SMOKE=1 runs
# a short version (small inputs) that only checks that everything works.
set -euo pipefail
cd "$(dirname "$0")/.."
SP=${SP:-bin/scratchpack}
SMOKE=${BENCH_SMOKE:-0}
work=$(mktemp -d /var/tmp/scratchpack-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
best() { sort -n | head -1; } # the best of several runs: the machine's noise is one-sided
ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# result NAME LINE: the measurement's line; in smoke mode the inputs are
# too small for its figures and targets to mean anything, so only that
# it ran is said.
result() { if [ "$SMOKE" = 1 ]; then echo "ok: $1 ran"; else echo "$2"; fi; }
# cpu CMD...: the user+sys seconds a command took
cpu() { /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >/dev/null 2>&1; awk '{ printf "%.2f", $1 + $2 }' "$work/cpu"; }
echo "scratchpack bench on $(uname -r), $(nproc) cores, $(date -u +%Y-%m-%d)$([ "$SMOKE" = 1 ] && echo ', smoke: each measurement is run, no figures')"

# 1. pack vs tar | gzip -6 and tar | pigz -6 (the parallel gzip users
# have) on the same lists of real files (no package metadata: the same
# files on all sides): a mixed list and a library-heavy one, about 150
# MiB each. The three run interleaved, best of 3, so that the machine's
# load weighs on all alike.
command -v pigz >/dev/null || { echo "bench: pigz is needed (scripts/deps.sh installs it)" >&2; exit 1; }
target=$((150 << 20)); [ "$SMOKE" = 1 ] && target=$((8 << 20))
find /usr/lib/x86_64-linux-gnu /usr/lib/python3* /usr/share -xdev -type f -printf '%s %p\n' 2>/dev/null > "$work/all" || true
awk -v t="$target" '{ total += $1; sub(/^[0-9]+ /, ""); print; if (total > t) exit }' "$work/all" > "$work/list"
# the shared libraries of /usr/lib/x86_64-linux-gnu by name, each under 8 MiB
find /usr/lib/x86_64-linux-gnu -xdev -name '*.so*' -type f -size -8M -printf '%s %p\n' 2>/dev/null | sort -k2 |
  awk -v t="$target" '{ total += $1; sub(/^[0-9]+ /, ""); print; if (total > t) exit }' > "$work/libs"
# timed FILE CMD...: appends the command's wall and CPU (user+sys, its
# children's included) seconds to FILE
timed() { local f=$1; shift; /usr/bin/time -f '%e %U %S' -o "$work/tm" "$@" >/dev/null 2>&1; awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$work/tm" >> "$f"; }
# pack_vs LABEL LIST: the row of pack, gzip -6 and pigz -6 on LIST, wall
# and CPU time (each the best of 3); sets ref_t and ref_s (gzip's)
pack_vs() {
  local label=$1 list=$2 bytes i k sp_t pz_t sp_c ref_c pz_c sp_s pz_s
  bytes=$(xargs -d '\n' stat -c %s < "$list" | awk '{s+=$1} END {print s}')
  xargs -d '\n' cat < "$list" > /dev/null # warm the page cache for all
  rm -f "$work/t.sp" "$work/t.gz" "$work/t.pz"
  for i in 1 2 3; do
    timed "$work/t.sp" "$SP" pack -q --package-metadata=false -o "$work/sp.tar.gz" --files "$list"
    timed "$work/t.gz" sh -c 'tar -cf - -T "$1" 2>/dev/null | gzip -6 > "$2"' _ "$list" "$work/ref.tar.gz"
    timed "$work/t.pz" sh -c 'tar -cf - -T "$1" 2>/dev/null | pigz -6 > "$2"' _ "$list" "$work/pz.tar.gz"
  done
  for k in sp gz pz; do
    cut -d' ' -f1 "$work/t.$k" | best > "$work/w.$k"
    cut -d' ' -f2 "$work/t.$k" | best > "$work/c.$k"
  done
  sp_t=$(cat "$work/w.sp") ref_t=$(cat "$work/w.gz") pz_t=$(cat "$work/w.pz")
  sp_c=$(cat "$work/c.sp") ref_c=$(cat "$work/c.gz") pz_c=$(cat "$work/c.pz")
  sp_s=$(stat -c %s "$work/sp.tar.gz") ref_s=$(stat -c %s "$work/ref.tar.gz") pz_s=$(stat -c %s "$work/pz.tar.gz")
  result "pack vs tar|gzip -6, tar|pigz -6 ($label)" "pack vs tar|gzip -6 and tar|pigz -6, $label, $(wc -l < "$list") files, $((bytes >> 20)) MiB (best of 3): pack ${sp_t}s (CPU ${sp_c}s) $sp_s B; gzip -6 ${ref_t}s (CPU ${ref_c}s) $ref_s B; pigz -6 ${pz_t}s (CPU ${pz_c}s) $pz_s B; time $(ratio "$sp_t" "$pz_t")x pigz's (target 0.8x), $(ratio "$sp_t" "$ref_t")x gzip's; CPU $(ratio "$sp_c" "$pz_c")x pigz's; size $(ratio3 "$sp_s" "$ref_s")x gzip -6's (target 1.01x), pigz $(ratio3 "$pz_s" "$ref_s")x"
}
pack_vs "shared libraries" "$work/libs"
pack_vs "mixed" "$work/list"
t0=$(now); "$SP" pack -q --package-metadata=false -o "$work/sp1.tar.gz" --level 1 --files "$work/list"; t1=$(now)
l1_t=$(secs "$t0" "$t1") l1_s=$(stat -c %s "$work/sp1.tar.gz")
result "pack --level 1" "  pack --level 1 (fastest, larger): time ${l1_t}s = $(ratio "$l1_t" "$ref_t")x; size $l1_s = $(ratio3 "$l1_s" "$ref_s")x"
# the secret scan (on by default) against --secrets off: wall and CPU
# time, best of 3 each, runs interleaved so that the machine's load
# weighs on both alike
for i in 1 2 3; do
  for m in off warn; do
    t0=$(now); c=$(cpu "$SP" pack -q -o "$work/sec.tar.gz" --secrets "$m" --files "$work/list"); t1=$(now)
    echo "$(secs "$t0" "$t1") $c" >> "$work/sec.$m"
  done
done
off_t=$(cut -d' ' -f1 "$work/sec.off" | best) on_t=$(cut -d' ' -f1 "$work/sec.warn" | best)
off_c=$(cut -d' ' -f2 "$work/sec.off" | best) on_c=$(cut -d' ' -f2 "$work/sec.warn" | best)
result "pack --secrets warn vs off" "  the secret scan (best of 3): pack ${on_t}s vs --secrets off ${off_t}s = $(ratio "$on_t" "$off_t")x (target 1.05x); CPU ${on_c}s vs ${off_c}s = $(ratio "$on_c" "$off_c")x"

# 2. deps vs ldd on every ELF program in /usr/bin
find /usr/bin -maxdepth 1 -type f -exec sh -c 'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \; > "$work/elf"
[ "$SMOKE" = 1 ] && head -20 "$work/elf" > "$work/elf.s" && mv "$work/elf.s" "$work/elf"
t0=$(now); xargs -d '\n' "$SP" deps --list < "$work/elf" > "$work/deps.out"; t1=$(now)
xargs -d '\n' ldd < "$work/elf" > "$work/ldd.out" 2>/dev/null || true; t2=$(now)
d_t=$(secs "$t0" "$t1") l_t=$(secs "$t1" "$t2")
sort -u "$work/deps.out" > "$work/a"
awk '/=>/ && $3 ~ /^\// {print $3} /^\t\// {print $1}' "$work/ldd.out" | sort -u > "$work/b"
same=$(cmp -s "$work/a" "$work/b" && echo "identical library sets" || echo "DIFFERENT library sets")
result "deps vs ldd" "deps vs ldd, $(wc -l < "$work/elf") programs: ${d_t}s vs ${l_t}s = $(ratio "$d_t" "$l_t")x (target 0.1x); $same ($(wc -l < "$work/a") libraries)"

# 3. filelist --strace on a big log vs grep -c openat
mb=300; [ "$SMOKE" = 1 ] && mb=10
sample=collect/strace/testdata/samples/py_file_process.log
while [ "$(stat -c %s "$work/big.log" 2>/dev/null || echo 0)" -lt $((mb << 20)) ]; do cat "$sample" >> "$work/big.log"; done
cat "$work/big.log" > /dev/null
# grep's output must not be /dev/null: GNU grep then stops at the first match.
# The runs are interleaved, so that the machine's load weighs on both alike.
for i in 1 2 3; do
  t0=$(now); grep -c openat "$work/big.log" > "$work/count"; t1=$(now); echo "$(secs "$t0" "$t1")" >> "$work/grep.t"
  t0=$(now); /usr/bin/time -f %M -a -o "$work/rss" "$SP" filelist --ignore-missing -q --strace "$work/big.log" > /dev/null 2>&1 || true; t1=$(now); echo "$(secs "$t0" "$t1")" >> "$work/filelist.t"
done
g_t=$(best < "$work/grep.t") f_t=$(best < "$work/filelist.t")
result "filelist --strace vs grep" "filelist --strace vs grep -c openat (best of 3), $(( $(stat -c %s "$work/big.log") >> 20 )) MiB log: ${f_t}s vs ${g_t}s = $(ratio "$f_t" "$g_t")x (target 2x); peak RSS $(( $(sort -n "$work/rss" | tail -1) >> 10 )) MiB (target 100 MiB)"

# 4. trace overhead: tar of python's library into wc. The ptrace
# collector (build's default: the traced run's time from its report), the
# strace collector (scratchpack trace) and the fanotify one (build
# --collector fanotify, likewise) vs the untraced run and plain strace -f,
# side by side, best of 3.
job="tar -cf - /usr/lib/python3.11 2>/dev/null | wc -c"
[ "$SMOKE" = 1 ] && job="tar -cf - /usr/lib/python3.11/json 2>/dev/null | wc -c"
sh -c "$job" > /dev/null
u=$(for i in 1 2 3; do t0=$(now); sh -c "$job" > /dev/null; t1=$(now); secs "$t0" "$t1"; echo; done | best)
s=$(for i in 1 2 3; do t0=$(now); "$SP" trace -q -o "$work/t.log" -- sh -c "$job" > /dev/null; t1=$(now); secs "$t0" "$t1"; echo; done | best)
k=$(for i in 1 2 3; do "$SP" build -q --collector ptrace --compression none -o "$work/pt.tar" -- sh -c "$job" > /dev/null 2>&1
  python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["timings_ms"]["trace"] / 1000))' "$work/pt.report.json"; done | best)
f=$(for i in 1 2 3; do "$SP" build -q --collector fanotify -o "$work/fan.tar.gz" -- sh -c "$job" > /dev/null 2>&1
  python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["timings_ms"]["trace"] / 1000))' "$work/fan.report.json"; done | best)
p=$(for i in 1 2 3; do t0=$(now); strace -f -o /dev/null sh -c "$job" > /dev/null; t1=$(now); secs "$t0" "$t1"; echo; done | best)
result "trace overhead" "trace overhead on '$job' (best of 3): untraced ${u}s; scratchpack ptrace ${k}s = $(ratio "$k" "$u")x (target 3x); scratchpack fanotify ${f}s = $(ratio "$f" "$u")x (target 2x); scratchpack strace ${s}s = $(ratio "$s" "$u")x; plain strace -f ${p}s = $(ratio "$p" "$u")x"
# build --seccomp-profile traces every syscall: its trace time (from the report) vs the default's
z=$(for i in 1 2 3; do "$SP" build -q --compression none --seccomp-profile "$work/sc.json" -o "$work/sc.tar" -- sh -c "$job" > /dev/null 2>&1
  python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["timings_ms"]["trace"] / 1000))' "$work/sc.report.json"; done | best)
d=$(for i in 1 2 3; do "$SP" build -q --compression none -o "$work/df.tar" -- sh -c "$job" > /dev/null 2>&1
  python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["timings_ms"]["trace"] / 1000))' "$work/df.report.json"; done | best)
result "build --seccomp-profile" "build --seccomp-profile (every syscall traced) on '$job' (best of 3): trace ${z}s vs ${d}s without it = $(ratio "$z" "$d")x, $(ratio "$z" "$u")x untraced; profile allows $(python3 -c 'import json,sys; print(sum(len(s["names"]) for s in json.load(open(sys.argv[1]))["syscalls"]))' "$work/sc.json") syscalls"

# 5. what the images hold: the archive, the bytes of the files the app
# used, and the whole filesystem it comes from: the e2e builder (a
# debootstrap Debian 12 with the apps) when it is there, else the host.
rootfs=${BENCH_ROOTFS:-/var/cache/scratchpack-e2e/rootfs}
if [ -x "$rootfs/usr/games/fortune" ] && [ -x "$rootfs/usr/sbin/nginx" ] && [ -x "$rootfs/usr/bin/python3" ]; then
  inroot=(--root "$rootfs"); src=$(du -sb "$rootfs" | cut -f1); srcname="builder rootfs $rootfs"
  app_dir=/srv/scratchpack-bench; host_dir=$rootfs$app_dir
elif [ "$SMOKE" = 1 ]; then
  inroot=(); src=; srcname=
  app_dir=$work/app; host_dir=$app_dir
else
  inroot=(); src=$(df -B1 --output=used / | tail -1); srcname="host, df used"
  app_dir=$work/app; host_dir=$app_dir
fi
mkdir -p "$host_dir/www" && echo hi > "$host_dir/www/index.html"
trap 'rm -rf "$work"; [ "$host_dir" = "$rootfs/srv/scratchpack-bench" ] && rm -rf "$host_dir"' EXIT
chmod 755 "$host_dir" "$host_dir/www"
printf 'daemon off; error_log stderr; pid %s/nginx.pid; events {} http { access_log off; server { listen 127.0.0.1:18099; root %s/www; } }\n' "$app_dir" "$app_dir" > "$host_dir/nginx.conf"
if [ "$SMOKE" != 1 ]; then
  echo "source filesystem: $srcname"
  printf '%-8s %14s %14s %18s %8s\n' app archive "bytes used" "source filesystem" ratio
fi
for app in fortune python nginx; do
  probe=()
  case $app in
    fortune) cmd=(/usr/games/fortune) ;;
    python) cmd=(/usr/bin/python3 -c 'import json, sqlite3, hashlib; print(json.dumps(hashlib.sha256(b"x").hexdigest()))') ;;
    nginx) cmd=(/usr/sbin/nginx -c "$app_dir/nginx.conf"); probe=(--probe "bash -c 'exec 3<>/dev/tcp/127.0.0.1/18099'") ;;
  esac
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$SP" build -q "${inroot[@]}" -o "$work/$app.tar.gz" "${probe[@]}" -- "${cmd[@]}" > /dev/null 2>&1
  used=$(python3 -c 'import json,sys; print(sum(e["size"] for e in json.load(open(sys.argv[1]))["entries"] if e["kind"] == "file"))' "$work/$app.report.json")
  arch=$(stat -c %s "$work/$app.tar.gz")
  result "build $app" "$(printf '%-8s %14s %14s %18s %7sx' "$app" "$arch" "$used" "$src" "$(awk -v a="$src" -v b="$arch" 'BEGIN { printf "%.0f", a / b }')")"
done

#!/usr/bin/env bash
# The classic recipe, done right: trace fortune, list what it used, pack
# it, and prove the rootfs runs in an empty root with nothing else.
set -euo pipefail
SP=${SP:-bin/scratchpack}
out=${OUT:-out/demo}
rm -rf "$out" && mkdir -p "$out"
echo "== 1. trace /usr/games/fortune and ask ldd for its libraries"
strace -f -o "$out/app.strace" /usr/games/fortune >/dev/null
ldd /usr/games/fortune > "$out/app.ldd"
echo "   $(wc -l < "$out/app.strace") strace lines, $(grep -c '=>' "$out/app.ldd") libraries from ldd"
echo "== 2. scratchpack filelist: one resolved list (symlinks kept as links)"
"$SP" filelist --strace "$out/app.strace" --ldd "$out/app.ldd" -o "$out/app.lst"
echo "   $(wc -l < "$out/app.lst") paths, e.g.:"
grep -E '^/(lib64|usr/share/games/fortunes/fortunes.u8|usr/games/fortune)$' "$out/app.lst" | sed 's/^/     /'
echo "== 3. scratchpack pack: a deterministic rootfs tar.gz and a Dockerfile"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000} "$SP" pack -o "$out/rootfs.tar.gz" --files "$out/app.lst" \
  --dockerfile "$out/Dockerfile" --cmd '["/usr/games/fortune"]'
echo "== 4. run it in an empty root: extract into a fresh directory, chroot, clean environment"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
tar -xzf "$out/rootfs.tar.gz" -C "$root"
echo "   the root holds only: $(cd "$root" && ls | tr '\n' ' ')"
echo "-----"
env -i "$(command -v chroot)" "$root" /usr/games/fortune
echo "-----"
tarball=$(stat -c %s "$out/rootfs.tar.gz")
used=$(du -sb --apparent-size "$root" | cut -f1)
deps=$( (dpkg -L fortune-mod fortunes-min libc6 librecode0 2>/dev/null || true) | while read -r f; do if [ -f "$f" ] && [ ! -L "$f" ]; then echo "$f"; fi; done | xargs -r stat -c %s | awk '{s+=$1} END {print s+0}')
echo "== sizes: rootfs.tar.gz $tarball bytes; unpacked $used bytes; the packages it came from (fortune-mod, fortunes-min, libc6, librecode0) $deps bytes"
echo "   Dockerfile ($out/Dockerfile):"
sed 's/^/     /' "$out/Dockerfile"
echo "demo OK: fortune ran in an empty root built by scratchpack"

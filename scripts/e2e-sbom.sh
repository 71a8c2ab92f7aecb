#!/usr/bin/env bash
# Security scanners on the example images (called by scripts/e2e.sh once
# the examples are built): Syft, run on each podman-built image, detects
# Debian 12 and reports exactly the packages the build report says own
# kept files, at the builder's versions; an image built with
# --package-metadata=false shows it none from a package database. Trivy is
# not run: it is not installed (its Go module builds as slowly as Syft's).
set -euo pipefail
export LC_ALL=C # sort as python does
cd "$(dirname "$0")/.."
PODMAN=${PODMAN:-"podman --storage-driver vfs --runtime runc"}
LIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
BUILDER=localhost/scratchpack-builder:bookworm
SYFT=${SYFT:-/opt/scratchpack/bin/syft}
export SYFT_CHECK_FOR_APP_UPDATE=false
fail=0
say() { printf '%s\n' "$*"; }
if ! [ -x "$SYFT" ]; then
  if [ -n "${CI:-}" ]; then say "   FAIL syft is not installed at $SYFT (scripts/deps.sh installs it)"; exit 1; fi
  say "   skip: syft is not installed at $SYFT (scripts/deps.sh installs it)"; exit 0
fi
work=$(mktemp -d)
nometa=localhost/scratchpack-e2e-nometa:latest
trap 'rm -rf "$work"; $PODMAN rmi -f $nometa >/dev/null 2>&1 || true' EXIT

# scan IMAGE -> "distro id version" then "name version" lines of the debs
# Syft reads from a dpkg database
scan() {
  $PODMAN save -q --format oci-archive -o "$work/image.tar" "$1" >/dev/null
  SYFT_CACHE_DIR="$work/cache" "$SYFT" scan "oci-archive:$work/image.tar" -o syft-json -q > "$work/scan.json"
  rm -f "$work/image.tar"
  python3 - "$work/scan.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("distro", d.get("distro", {}).get("id", ""), d.get("distro", {}).get("versionID", ""))
# the packages read from a dpkg database (not those ELF notes name)
for n, v in sorted({(a["name"], a["version"]) for a in d["artifacts"] if a["type"] == "deb" and a.get("foundBy") == "dpkg-db-cataloger"}):
    print(n, v)
PY
}

for ex in fortune python nginx; do
  case " ${EXAMPLES:-fortune python nginx} " in *" $ex "*) ;; *) continue ;; esac # EXAMPLES=fortune: that one
  tag=localhost/scratchpack-example-$ex:latest
  report=examples/$ex/rootfs.report.json
  got=$(scan $tag)
  want=$(python3 - "$report" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1]))["packages"]["packages"]:
    print(p["name"], p["version"])
PY
)
  names=$(printf '%s\n' "$want" | cut -d' ' -f1 | tr '\n' ' ')
  builder=$($PODMAN run --rm $LIMITS --network none $BUILDER dpkg-query -W -f '${Package} ${Version}\n' $names | sort)
  debs=$(printf '%s\n' "$got" | grep -v '^distro ')
  n=$(printf '%s\n' "$want" | grep -c .)
  case "$(printf '%s\n' "$got" | head -1)" in "distro debian 12"*) distro_ok=1 ;; *) distro_ok=0 ;; esac
  if [ $distro_ok = 0 ]; then
    say "   FAIL syft on $ex: $(printf '%s\n' "$got" | head -1), want debian 12"; fail=1
  elif ! printf '%s\n' "$debs" | grep -q '^base-files '; then
    say "   FAIL syft on $ex: no base-files (the owner of os-release and debian_version): $names"; fail=1
  elif [ "$debs" != "$(printf '%s\n' "$want" | sort)" ] || [ "$debs" != "$builder" ]; then
    say "   FAIL syft on $ex: got"; say "$debs"; say "   want (report)"; say "$want"; say "   builder"; say "$builder"; fail=1
  else
    say "   ok   syft on the $ex image: debian 12, the $n packages that own kept files: $names"
  fi
done

# the same fortune, built without the metadata: nothing to see
$PODMAN run --rm $LIMITS --network none -v "$work:/out" -v "$PWD/bin/scratchpack:/usr/local/bin/scratchpack:ro" $BUILDER \
  scratchpack build -q --package-metadata=false -o /out/rootfs.tar.gz --dockerfile /out/Dockerfile -- /usr/games/fortune -s >/dev/null
$PODMAN build -q $LIMITS -t $nometa "$work" >/dev/null
got=$(scan $nometa)
if [ "$(printf '%s\n' "$got" | grep -vc '^distro ')" != 0 ]; then
  say "   FAIL syft on fortune --package-metadata=false: $got"; fail=1
else
  say "   ok   syft on the fortune image made with --package-metadata=false: no package"
fi
exit $fail

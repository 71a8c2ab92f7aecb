#!/usr/bin/env bash
# Runs every fuzzer for FUZZTIME (default 5m), then keeps what each one
# found interesting as seed corpus under the package's testdata/fuzz, so
# that `go test` (and CI) replays it.
set -euo pipefail
FUZZTIME=${FUZZTIME:-5m}
PARALLEL=${PARALLEL:-1}
cache=$(go env GOCACHE)/fuzz/github.com/scratchpack/scratchpack
for spec in collect/strace:FuzzParse collect/strace:FuzzUnquote collect/ldd:FuzzParse filelist:FuzzRead collect/elfdeps:FuzzParseCache collect/strace:FuzzCountCalls collect/elfdeps:FuzzParseMuslPath secrets:FuzzScan tarball:FuzzDeflate tarball:FuzzApplyLayers image:FuzzParseDest .:FuzzSplitPlain collect:FuzzNormalize pkgmeta:FuzzParseControl pkgmeta:FuzzParseMD5Sums pkgmeta:FuzzParseDiversions pkgmeta:FuzzParseApkInstalled pkgmeta/units:FuzzRecordTops pkgmeta/units:FuzzUnitOf collect/ptrace:FuzzResolveAt collect/ptrace:FuzzReadString collect/ptrace:FuzzStatusField; do
  pkg=${spec%%:*} name=${spec##*:}
  echo "== $pkg $name for $FUZZTIME"
  start=$(date +%s)
  go test "./$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" 2>&1 | tail -3
  echo "   took $(( $(date +%s) - start ))s"
  src="$cache/$pkg/$name"
  if [ -d "$src" ]; then
    mkdir -p "$pkg/testdata/fuzz/$name"
    # keep the smaller inputs: the corpus is replayed by every go test
    find "$src" -type f -size -16k -exec cp -n {} "$pkg/testdata/fuzz/$name/" \;
    echo "   corpus: $(ls "$pkg/testdata/fuzz/$name" | wc -l) inputs"
  fi
done

# scratchpack: `make demo` and `make test` set up everything they need on
# a fresh Debian machine (apt packages through scripts/deps.sh).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/scratchpack/scratchpack.Version=$(VERSION)
BIN      := bin/scratchpack
FUZZTIME ?= 5m

E2E      ?= 1

.PHONY: all build deps test test-deps vet unit e2e demo bench bench-smoke fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/scratchpack

deps test-deps:
	@bash scripts/deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...

# The whole suite, fuzz seed corpora included, then the podman end to end
# (E2E=0 leaves it out). CI=true makes a missing tool a failure instead of
# a skip.
test: test-deps vet unit bench-smoke
	@if [ "$(E2E)" != 0 ]; then $(MAKE) --no-print-directory e2e; else echo "e2e: left out (E2E=0)"; fi

unit:
	$(GO) test -count=1 -timeout 20m ./...

# Real images with podman: every example, built and run FROM scratch.
e2e: build
	@bash scripts/e2e.sh

demo: deps build
	@bash scripts/demo.sh

# Go benchmarks, then the comparison with tar|gzip, ldd, grep and strace.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./collect/... ./tarball/...
	@bash scripts/bench.sh

# A short run of the comparison script, to keep it working (CI).
bench-smoke: build
	@BENCH_SMOKE=1 bash scripts/bench.sh

# Each fuzzer for FUZZTIME (default 5m); the interesting inputs are kept
# under testdata/fuzz as seed corpus, which every go test replays.
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

clean:
	rm -rf bin out

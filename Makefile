# scratchpack: `make demo` and `make test` set up everything they need on
# a fresh Debian machine (apt packages through scripts/deps.sh).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/scratchpack/scratchpack.Version=$(VERSION)
BIN      := bin/scratchpack
FUZZTIME ?= 5m

E2E      ?= 1

.PHONY: all build install deps demo-deps test test-deps vet unit e2e demo bench bench-smoke fuzz clean clean-e2e

PREFIX   ?= /usr/local

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/scratchpack

# The static binary, to $(PREFIX)/bin (PREFIX=/usr/local by default;
# DESTDIR for packaging).
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/scratchpack

# What the tests need (deps) and what the demo needs (demo-deps).
deps test-deps:
	@bash scripts/deps.sh test

demo-deps:
	@bash scripts/deps.sh demo

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

demo: demo-deps build
	@bash scripts/demo.sh

# Go benchmarks, then the comparison with tar|gzip, ldd, grep and strace.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./collect/... ./tarball/... ./secrets/... ./internal/htmlreport/... ./image/source/
	@bash scripts/bench.sh

# A short run of the comparison script, to keep it working (CI).
bench-smoke: build
	@BENCH_SMOKE=1 bash scripts/bench.sh

# Each fuzzer for FUZZTIME (default 5m); the interesting inputs are kept
# under testdata/fuzz as seed corpus, which every go test replays.
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# Build outputs: the binary, the demo's files, the examples' archives.
clean:
	rm -rf bin out
	for ex in examples/*/; do $(MAKE) -s -C $$ex clean; done

# What the e2e keeps between runs: the builder image and its debootstrap
# cache (the next e2e makes them again, in about two minutes), and any
# image an interrupted run left.
clean-e2e:
	@bash scripts/e2e.sh clean-all

# Shared rules of the examples. An example's Makefile sets NAME and
# includes this file. Podman needs these flags on this kind of machine
# (see the README of the repository); override PODMAN elsewhere.
PODMAN   ?= podman --storage-driver vfs --runtime runc
LIMITS   ?= --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
BUILDER  ?= localhost/scratchpack-builder:bookworm
# COLLECTOR=fanotify watches instead of tracing; it needs CAP_SYS_ADMIN in
# the build (podman build --cap-add; BuildKit: RUN --security=insecure).
COLLECTOR ?= ptrace
BUILDCAPS := $(if $(filter fanotify,$(COLLECTOR)),--cap-add SYS_ADMIN)
TAG      ?= localhost/scratchpack-example-$(NAME)$(if $(filter fanotify,$(COLLECTOR)),-fanotify)
RUNARGS  ?= --network none
# e2e sets --layers=false: podman then keeps no intermediate image per step
BUILDFLAGS ?=
ROOT     := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)

.PHONY: image builder-image rootfs run multistage run-multistage clean

builder-image:
	$(PODMAN) build $(BUILDFLAGS) $(LIMITS) $(BUILDCAPS) --build-arg BUILDER=$(BUILDER) --build-arg COLLECTOR=$(COLLECTOR) -f Dockerfile.builder -t $(TAG):builder .

# the archive the builder made, copied out of it
rootfs.tar.gz: builder-image
	id=$$($(PODMAN) create $(TAG):builder /bin/true) && \
	$(PODMAN) cp $$id:/out/rootfs.tar.gz rootfs.tar.gz && \
	$(PODMAN) cp $$id:/out/rootfs.report.json rootfs.report.json && \
	$(PODMAN) rm $$id >/dev/null

image: rootfs.tar.gz
	$(PODMAN) build $(BUILDFLAGS) $(LIMITS) -f Dockerfile -t $(TAG):latest .

run:
	$(PODMAN) run --rm $(LIMITS) $(RUNARGS) $(TAG):latest

multistage:
	$(PODMAN) build $(BUILDFLAGS) $(LIMITS) --build-arg BUILDER=$(BUILDER) -f Dockerfile.multistage -t $(TAG):multistage .

run-multistage:
	$(PODMAN) run --rm $(LIMITS) $(RUNARGS) $(TAG):multistage

clean:
	rm -f rootfs.tar.gz rootfs.report.json

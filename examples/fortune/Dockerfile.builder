# The builder: Debian 12 with fortune and strace, and scratchpack.
ARG BUILDER=localhost/scratchpack-builder:bookworm
FROM ${BUILDER}
# Install the app and strace when the base lacks them (debian:bookworm does;
# the builder made by `make -C examples builder` has them already).
RUN missing=$(for p in strace fortune-mod fortunes-min; do dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'ok installed' || echo $p; done); \
    [ -z "$missing" ] || { apt-get update && apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; }
COPY --from=localhost/scratchpack:dev /scratchpack /usr/local/bin/scratchpack
# strace (the default) or fanotify (needs --cap-add SYS_ADMIN, see ../common.mk)
ARG COLLECTOR=strace
RUN mkdir -p /out && scratchpack build --collector ${COLLECTOR} -o /out/rootfs.tar.gz -- /usr/games/fortune

# The builder: Debian 12 with fortune and strace, and scratchpack.
ARG BUILDER=localhost/scratchpack-builder:bookworm
FROM ${BUILDER}
COPY --from=localhost/scratchpack:dev /scratchpack /usr/local/bin/scratchpack
RUN mkdir -p /out && scratchpack build -o /out/rootfs.tar.gz -- /usr/games/fortune

ARG BUILDER=localhost/scratchpack-builder:bookworm
FROM ${BUILDER}
COPY --from=localhost/scratchpack:dev /scratchpack /usr/local/bin/scratchpack
COPY app.py /app/app.py
RUN mkdir -p /out && scratchpack build -o /out/rootfs.tar.gz -- /app/app.py

ARG BUILDER=localhost/scratchpack-builder:bookworm
FROM ${BUILDER}
COPY --from=localhost/scratchpack:dev /scratchpack /usr/local/bin/scratchpack
COPY client.py /app/client.py
# The trace imports the modules only: the name service and the
# certificates come from the sets.
RUN mkdir -p /out && scratchpack build -o /out/rootfs.tar.gz --with nss,certs \
        -- /usr/bin/python3 -c 'import socket, ssl, encodings.idna'

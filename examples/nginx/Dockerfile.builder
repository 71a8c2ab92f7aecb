ARG BUILDER=localhost/scratchpack-builder:bookworm
FROM ${BUILDER}
COPY --from=localhost/scratchpack:dev /scratchpack /usr/local/bin/scratchpack
COPY nginx.conf /etc/nginx/scratch.conf
COPY www/ /srv/www/
COPY probe.sh /usr/local/bin/probe
RUN mkdir -p /out && scratchpack build -o /out/rootfs.tar.gz --probe /usr/local/bin/probe \
        -- /usr/sbin/nginx -c /etc/nginx/scratch.conf

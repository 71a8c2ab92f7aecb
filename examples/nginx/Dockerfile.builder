ARG BUILDER=localhost/scratchpack-builder:bookworm
FROM ${BUILDER}
# Install the app when the base lacks it (no strace: scratchpack traces itself;
# the builder made by `make -C examples builder` has the app already).
RUN missing=$(for p in nginx-light; do dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'ok installed' || echo $p; done); \
    [ -z "$missing" ] || { apt-get update && apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; }
COPY --from=localhost/scratchpack:dev /scratchpack /usr/local/bin/scratchpack
# ptrace (the default: scratchpack's own tracer), strace (install it first) or
# fanotify (needs --cap-add SYS_ADMIN, see ../common.mk)
ARG COLLECTOR=ptrace
COPY nginx.conf /etc/nginx/scratch.conf
COPY www/ /srv/www/
COPY probe.sh /usr/local/bin/probe
RUN mkdir -p /out && scratchpack build --collector ${COLLECTOR} -o /out/rootfs.tar.gz --probe /usr/local/bin/probe \
        -- /usr/sbin/nginx -c /etc/nginx/scratch.conf

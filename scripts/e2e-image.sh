#!/usr/bin/env bash
# Images without a container engine (scratchpack build --image): fortune
# and nginx are built on this machine and pushed to a real registry
# (Debian's docker-registry on 127.0.0.1), written as a docker archive and
# an OCI layout; podman pulls, loads and runs them, skopeo and umoci read
# them. Then the layer's size against podman's for the same rootfs: podman
# builds the Dockerfile that build --dockerfile wrote and pushes it to the
# same registry.
set -euo pipefail
cd "$(dirname "$0")/.."
PODMAN=${PODMAN:-"podman --storage-driver vfs --runtime runc"}
LIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
SP=$PWD/bin/scratchpack
fail=0
say() { printf '%s\n' "$*"; }
check() { # name, expected (a grep -E pattern), actual
  if printf '%s' "$3" | grep -qE -- "$2"; then say "   ok   $1: $(printf '%s' "$3" | head -c 120 | tr '\n' ' ')"
  else say "   FAIL $1: expected /$2/, got: $3"; fail=1; fi
}
runs() { # name, command...: it exits 0 and prints something
  local name=$1 out; shift
  if out=$("$@" 2>&1) && [ -n "$out" ]; then say "   ok   $name: $(printf '%s' "$out" | head -c 100 | tr '\n\t' '  ')"
  else say "   FAIL $name: exit $?: $out"; fail=1; fi
}
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Not under /tmp: build leaves the contents of /tmp out by default.
work=$(mktemp -d /var/lib/scratchpack-e2e-image-XXXXXX)
chmod 755 "$work"
port=$(freeport) nport=$(freeport)
reg=127.0.0.1:$port
tags=("$reg/e2e/fortune:v1" "$reg/e2e/nginx:v1" "$reg/e2e/fortune:podman" localhost/scratchpack-e2e-fortune:archive localhost/scratchpack-e2e-fortune:podman)
regpid=
cleanup() {
  for t in "${tags[@]}"; do $PODMAN rmi -f "$t" >/dev/null 2>&1 || true; done
  if [ -n "$regpid" ]; then kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

say "== images without a container engine (registry on $reg)"
mkdir -p "$work/registry"
cat > "$work/registry/config.yml" <<CONF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: $reg
CONF
# REGISTRY_* variables would override the config.
env $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/-u \1/p') docker-registry serve "$work/registry/config.yml" > "$work/registry/log" 2>&1 &
regpid=$!
for _ in $(seq 100); do curl -sf "http://$reg/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "http://$reg/v2/" >/dev/null || { cat "$work/registry/log"; say "   FAIL the registry did not start"; exit 1; }

export SOURCE_DATE_EPOCH=1700000000
mkdir -p "$work/fortune"
(cd "$work" && "$SP" build -q -o fortune/rootfs.tar.gz --dockerfile fortune/Dockerfile --dir / \
  --insecure-registry --image "docker://$reg/e2e/fortune:v1" \
  --image docker-archive:fortune/fortune.tar:localhost/scratchpack-e2e-fortune:archive --image oci:fortune/oci:v1 \
  --label org.example.e2e=fortune --image-revision e2e -- /usr/games/fortune >/dev/null)
cfg=$(skopeo inspect --tls-verify=false --config "docker://$reg/e2e/fortune:v1")
check "skopeo: the CMD" '^\["/usr/games/fortune"\]$' "$(jq -c .config.Cmd <<<"$cfg")"
check "skopeo: the labels" '"org.example.e2e":"fortune".*"org.opencontainers.image.revision":"e2e"' "$(jq -c .config.Labels <<<"$cfg")"
check "skopeo: created from SOURCE_DATE_EPOCH" '^"2023-11-14T22:13:20Z"$' "$(jq -c .created <<<"$cfg")"
check "skopeo: linux/amd64, PATH" '^"linux" "amd64" "PATH=' "$(jq -r '"\"\(.os)\" \"\(.architecture)\" \"\(.config.Env[0])"' <<<"$cfg")"
pushed=$(skopeo inspect --tls-verify=false "docker://$reg/e2e/fortune:v1" | jq -r .Digest)
check "skopeo reads the OCI layout: the same digest" "^$pushed\$" "$(skopeo inspect "oci:$work/fortune/oci:v1" | jq -r .Digest)"
umoci unpack --image "$work/fortune/oci:v1" "$work/fortune/bundle" >/dev/null
runs "umoci unpacks the OCI layout; fortune runs there" chroot "$work/fortune/bundle/rootfs" /usr/games/fortune
$PODMAN pull -q --tls-verify=false "$reg/e2e/fortune:v1" >/dev/null
runs "podman pull + run (fortune)" $PODMAN run --rm $LIMITS --network none "$reg/e2e/fortune:v1"
$PODMAN load -q -i "$work/fortune/fortune.tar" >/dev/null
runs "podman load of the docker archive + run" $PODMAN run --rm $LIMITS --network none localhost/scratchpack-e2e-fortune:archive

# nginx, traced with a probe, on a free port; the image runs with the
# host's network so that curl reaches it.
mkdir -p "$work/nginx/app/www" "$work/nginx/out"
echo 'hello from a scratch nginx' > "$work/nginx/app/www/index.html"
chmod -R a+rX "$work/nginx/app"
cat > "$work/nginx/app/nginx.conf" <<CONF
daemon off;
worker_processes 1;
error_log stderr;
pid $work/nginx/app/nginx.pid;
events { worker_connections 64; }
http { access_log off; server { listen 127.0.0.1:$nport; root $work/nginx/app/www; } }
CONF
(cd "$work/nginx" && "$SP" build -q -o out/rootfs.tar.gz --workdir / --port "$nport" \
  --insecure-registry --image "docker://$reg/e2e/nginx:v1" \
  --probe "curl -sf http://127.0.0.1:$nport/index.html" -- /usr/sbin/nginx -c "$work/nginx/app/nginx.conf" >/dev/null 2>&1)
check "skopeo: nginx exposes its port" "\"$nport/tcp\"" "$(skopeo inspect --tls-verify=false --config "docker://$reg/e2e/nginx:v1" | jq -c .config.ExposedPorts)"
$PODMAN pull -q --tls-verify=false "$reg/e2e/nginx:v1" >/dev/null
id=$($PODMAN run -d $LIMITS --network host "$reg/e2e/nginx:v1")
answer=no-answer
for _ in $(seq 50); do answer=$(curl -sf "http://127.0.0.1:$nport/index.html" 2>/dev/null) && break; answer=no-answer; sleep 0.1; done
$PODMAN rm -f "$id" >/dev/null
check "podman pull + run (nginx) answers" '^hello from a scratch nginx$' "$answer"

# The layer against podman's for the same rootfs.
$PODMAN build -q $LIMITS -t localhost/scratchpack-e2e-fortune:podman "$work/fortune" >/dev/null
$PODMAN push -q --tls-verify=false localhost/scratchpack-e2e-fortune:podman "docker://$reg/e2e/fortune:podman" >/dev/null
ours=$(skopeo inspect --tls-verify=false --raw "docker://$reg/e2e/fortune:v1" | jq '.layers[0].size')
theirs=$(skopeo inspect --tls-verify=false --raw "docker://$reg/e2e/fortune:podman" | jq '[.layers[].size] | add')
check "layer at most podman's for the same rootfs" '^ok' "$([ "$ours" -le "$theirs" ] && echo ok || echo over) ($ours bytes; podman build + push: $theirs)"
say "   digest fortune $pushed, nginx $(skopeo inspect --tls-verify=false "docker://$reg/e2e/nginx:v1" | jq -r .Digest)"

if [ $fail -ne 0 ]; then say "e2e-image: FAILED"; exit 1; fi
say "e2e-image: all images pushed, pulled, loaded and run"

#!/usr/bin/env bash
# End to end with real servers (issue 16), built on this machine (Debian 12,
# the builder) and run FROM scratch with podman (imported rootfs):
#  - postgres, as its own user with its data directory included, after an
#    unclean stop (a stale postmaster.pid), built twice in a row (strace,
#    then fanotify): both builds succeed, both images give the builder's
#    answer;
#  - mariadb, data directory included, default socket in /run/mysqld;
#  - apache with mod_php (apache2 -D FOREGROUND), which signals its whole
#    process group when it stops.
# Each image is started with podman, asked what the probe asked in the
# builder, and removed. Prints the images' sizes and the times.
set -euo pipefail
cd "$(dirname "$0")/.."
PODMAN=${PODMAN:-"podman --storage-driver vfs --runtime runc"}
LIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
SP=$PWD/bin/scratchpack
PG=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PGPORT=55432 MYPORT=53306 APPORT=58080
D=/srv/scratchpack-e2e-servers.$$ # not under /tmp: its contents are excluded by default
TAG=localhost/scratchpack-e2e-servers
fail=0
say() { printf '%s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
check() { # name, want, got
  if [ -n "$2" ] && [ "$2" = "$3" ]; then say "   ok   $1: $3"
  else say "   FAIL $1: expected '$2', got '$3'"; fail=1; fi
}
images=()
cleanup() {
  for c in pg1 pg2 my ap; do $PODMAN rm -f -t 0 "scratchpack-e2e-$c" >/dev/null 2>&1 || true; done
  for i in "${images[@]}"; do $PODMAN rmi -f "$i" >/dev/null 2>&1 || true; done
  rm -rf "$D"
}
trap cleanup EXIT

for tool in "$PG/postgres" /usr/sbin/mariadbd /usr/sbin/apache2 psql mariadb curl setpriv runuser awk; do
  command -v "$tool" >/dev/null || { say "e2e-servers: $tool is missing (scripts/deps.sh installs it)"; exit 1; }
done
for port in $PGPORT $MYPORT $APPORT; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then say "e2e-servers: port $port is in use"; exit 1; fi
done
mkdir -p "$D"
install -d -o postgres -g postgres -m 2775 /run/postgresql
install -d -o mysql -g root -m 755 /run/mysqld
install -d -m 755 /run/apache2
install -d -o www-data -g root -m 755 /var/lock/apache2

# in_archive ARCHIVE DIR...: each runtime directory is there, empty, with
# its owner and mode
in_archive() {
  local a=$1 d line; shift
  tar -tzvf "$a" > "$D/listing"
  for d in "$@"; do
    line=$(awk -v d="$d" '$6 == d' "$D/listing")
    if [ -n "$line" ] && [ "$(awk -v d="$d" 'index($6, d) == 1 && $6 != d { n++ } END { print n + 0 }' "$D/listing")" = 0 ]; then
      say "   ok   $d is in the archive, empty: $(printf '%s' "$line" | awk '{print $1, $2}')"
    else say "   FAIL $d is not in the archive, or not empty"; fail=1; fi
  done
}

# image NAME ARCHIVE CMD-JSON: import a rootfs as an image with its CMD
image() {
  local t0; t0=$(now)
  $PODMAN import -q --change "CMD $3" "$2" "$TAG-$1:latest" >/dev/null
  images+=("$TAG-$1:latest")
  say "   image $1: $($PODMAN image inspect --format '{{.Size}}' "$TAG-$1:latest") bytes (archive $(stat -c %s "$2") bytes), imported in $(since "$t0")"
}
# serve NAME PROBE: run the image (host network: it listens on 127.0.0.1)
# and print what the probe gets, once it answers; then stop it
serve() {
  local c=scratchpack-e2e-$1 t0 out=""
  t0=$(now)
  $PODMAN run -d --rm $LIMITS --network host --name "$c" "$TAG-$1:latest" >/dev/null
  for _ in $(seq 450); do # (vfs copies the whole image for a container: up to a minute here)
    if out=$(sh -c "$2" 2>/dev/null) && [ -n "$out" ]; then break; fi
    out=""
    sleep 0.2
  done
  [ -n "$out" ] || { say "   $1 did not answer; its log:" >&2; $PODMAN logs "$c" 2>&1 | tail -5 | sed 's/^/      /' >&2; }
  say "   $1 answered after $(since "$t0")" >&2
  $PODMAN stop -t 10 "$c" >/dev/null 2>&1 || true
  printf '%s' "$out"
}

say "== postgres ($PG), data directory included, after an unclean stop, built twice"
install -d -o postgres -g postgres -m 700 "$D/pg"
t0=$(now)
runuser -u postgres -- "$PG/initdb" -D "$D/pg" -A trust -U postgres --locale=C -E UTF8 --no-sync >/dev/null
PGRUN=("$PG/postgres" -D "$D/pg" -p $PGPORT -c listen_addresses=127.0.0.1)
PSQL="psql -h 127.0.0.1 -p $PGPORT -U postgres -Atc"
runuser -u postgres -- "${PGRUN[@]}" >"$D/pg.log" 2>&1 &
for _ in $(seq 100); do $PSQL 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
$PSQL "create table t (v text); insert into t values ('hello from the data directory')" >/dev/null
want=$($PSQL "select v || ' ' || 6*7 from t")
say "   set up in $(since "$t0"): the builder answers '$want'"
PGCMD=(setpriv --reuid=postgres --regid=postgres --clear-groups "${PGRUN[@]}")
PGJSON=$(printf '"%s",' /usr/bin/"${PGCMD[0]}" "${PGCMD[@]:1}"); PGJSON="[${PGJSON%,}]"
for i in 1 2; do
  # the unclean stop: the postmaster is killed, its pid file stays
  if [ "$i" = 2 ]; then runuser -u postgres -- "${PGRUN[@]}" >>"$D/pg.log" 2>&1 & for _ in $(seq 100); do $PSQL 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done; fi
  kill -9 "$(head -1 "$D/pg/postmaster.pid")"
  for _ in $(seq 100); do pgrep -u postgres -f "$D/pg" >/dev/null || break; sleep 0.1; done
  [ -e "$D/pg/postmaster.pid" ] || { say "   FAIL no stale postmaster.pid before build $i"; fail=1; }
  collector=strace; [ "$i" = 2 ] && collector=fanotify
  t0=$(now)
  if "$SP" build --level 1 --collector $collector -o "$D/pg$i.tar.gz" --include "$D/pg" --grace 20s \
      --probe "$PSQL \"select v || ' ' || 6*7 from t\" > $D/pg$i.want" -- "${PGCMD[@]}" >"$D/pg$i.build" 2>&1; then
    say "   ok   build $i ($collector) after an unclean stop: $(since "$t0"); $(grep -c 'removed while traced' "$D/pg$i.build") note: $(grep -o 'left out [0-9]* file(s)' "$D/pg$i.build" || true)"
  else
    say "   FAIL build $i ($collector):"; tail -5 "$D/pg$i.build" | sed 's/^/      /'; fail=1; continue
  fi
  check "builder's probe, build $i" "$want" "$(cat "$D/pg$i.want")"
  image pg$i "$D/pg$i.tar.gz" "$PGJSON"
  check "image pg$i answers as the builder" "$want" "$(serve pg$i "$PSQL \"select v || ' ' || 6*7 from t\"")"
done

say "== mariadb, data directory included, default socket in /run/mysqld"
install -d -o mysql -g mysql -m 750 "$D/my"
t0=$(now)
mariadb-install-db --user=mysql --datadir="$D/my" --skip-test-db >/dev/null 2>&1
printf '%s\n' "use mysql;" "FLUSH PRIVILEGES;" "CREATE DATABASE app;" "CREATE TABLE app.t (v varchar(64));" \
  "INSERT INTO app.t VALUES ('hello from mariadb');" \
  "CREATE USER 'probe'@'127.0.0.1' IDENTIFIED BY 'probe';" "GRANT SELECT ON app.* TO 'probe'@'127.0.0.1';" |
  /usr/sbin/mariadbd --no-defaults --bootstrap --user=mysql --datadir="$D/my" >/dev/null 2>&1
say "   set up in $(since "$t0")"
MYQ="mariadb -h 127.0.0.1 -P $MYPORT -uprobe -pprobe -N -e \"select concat(v, ' ', 6*7) from app.t\""
MYCMD=(/usr/sbin/mariadbd --user=mysql --datadir="$D/my" --port=$MYPORT --bind-address=127.0.0.1)
t0=$(now)
if "$SP" build --level 1 -o "$D/my.tar.gz" --include "$D/my" --grace 20s --probe "$MYQ > $D/my.want" -- "${MYCMD[@]}" >"$D/my.build" 2>&1; then
  say "   ok   build: $(since "$t0")"
  in_archive "$D/my.tar.gz" run/mysqld/
  want=$(cat "$D/my.want")
  image my "$D/my.tar.gz" "$(printf '"%s",' "${MYCMD[@]}" | sed 's/^/[/; s/,$/]/')"
  check "image my answers as the builder" "$want" "$(serve my "$MYQ")"
else
  say "   FAIL build:"; tail -5 "$D/my.build" | sed 's/^/      /'; fail=1
fi

say "== apache with mod_php (apache2 -D FOREGROUND), which signals its group when it stops"
mkdir -p "$D/www"
printf '<?php echo "php says ", 6*7, " on ", PHP_VERSION;\n' > "$D/www/index.php"
# the apache of e2e-docker-build.sh too (User www-data: prefork workers)
sed "s|@DIR@|$D|g; s|@PORT@|$APPORT|g" scripts/e2e-apache.conf.in > "$D/apache.conf"
APQ="curl -sf http://127.0.0.1:$APPORT/"
APCMD=(/usr/sbin/apache2 -f "$D/apache.conf" -D FOREGROUND)
t0=$(now)
if "$SP" build --level 1 -o "$D/ap.tar.gz" --grace 10s --probe "$APQ > $D/ap.want" -- "${APCMD[@]}" >"$D/ap.build" 2>&1; then
  say "   ok   build: $(since "$t0")"
  in_archive "$D/ap.tar.gz" run/apache2/ run/lock/apache2/
  want=$(cat "$D/ap.want")
  image ap "$D/ap.tar.gz" "$(printf '"%s",' "${APCMD[@]}" | sed 's/^/[/; s/,$/]/')"
  check "image ap answers as the builder" "$want" "$(serve ap "$APQ")"
else
  say "   FAIL build:"; tail -5 "$D/ap.build" | sed 's/^/      /'; fail=1
fi

if [ $fail -ne 0 ]; then say "e2e-servers: FAILED"; exit 1; fi
say "e2e-servers: every server built, ran FROM scratch and answered as in the builder"

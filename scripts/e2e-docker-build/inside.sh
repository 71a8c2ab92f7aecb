#!/bin/sh
# Runs inside the podman build (see Dockerfile): installs apache with
# mod_php (prefork) and mariadb as a user's builder stage would, sets up
# their data, then, for each collector given, builds both servers with
# scratchpack (the probes' answers are the builder's), and again with
# --strict. Everything it learns goes to /out; the checks are made
# outside (scripts/e2e-docker-build.sh). It fails only when the set-up
# does.
set -eu
AP_PORT=$1 MY_PORT=$2
shift 2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/out/apt.log 2>&1
apt-get install -y -q --no-install-recommends apache2 libapache2-mod-php mariadb-server mariadb-client curl >>/out/apt.log 2>&1
SP=/ctx/scratchpack
# what the build gets: capabilities, seccomp, the ids of the servers' users
grep -E '^(CapEff|Seccomp):' /proc/self/status > /out/status
echo "www-data $(id -u www-data) mysql $(id -u mysql)" > /out/ids
ls /etc/apache2/mods-enabled > /out/apache-mods

D=/srv/e2e # not under /tmp: its contents are excluded by default
mkdir -p $D/www
printf '<?php echo "php says ", 6*7, " on ", PHP_VERSION;\n' > $D/www/index.php
sed "s|@DIR@|$D|g; s|@PORT@|$AP_PORT|g" /ctx/e2e-apache.conf.in > $D/apache.conf # (the one of e2e-servers.sh)
install -d -m 755 /run/apache2
install -d -o www-data -g root -m 755 /var/lock/apache2
install -d -o mysql -g mysql -m 750 $D/my
install -d -o mysql -g root -m 755 /run/mysqld
mariadb-install-db --user=mysql --datadir=$D/my --skip-test-db >/out/my-setup.log 2>&1
printf '%s\n' "use mysql;" "FLUSH PRIVILEGES;" "CREATE DATABASE app;" "CREATE TABLE app.t (v varchar(64));" \
  "INSERT INTO app.t VALUES ('hello from mariadb');" \
  "CREATE USER 'probe'@'127.0.0.1' IDENTIFIED BY 'probe';" "GRANT SELECT ON app.* TO 'probe'@'127.0.0.1';" |
  /usr/sbin/mariadbd --no-defaults --bootstrap --user=mysql --datadir=$D/my >>/out/my-setup.log 2>&1

APQ="curl -sf http://127.0.0.1:$AP_PORT/"
MYQ="mariadb -h 127.0.0.1 -P $MY_PORT -uprobe -pprobe -N -e 'select concat(v, \" \", 6*7) from app.t'"
# build COLLECTOR NAME [--strict]: one server, its exit status, output and timing in /out/COLLECTOR
build() {
  c=$1 name=$2 strict=${3:-}
  o=/out/$c/$name$strict
  mkdir -p /out/$c
  case $name in
    ap) set -- --grace 10s --probe "$APQ > $o.want" -- /usr/sbin/apache2 -f $D/apache.conf -D FOREGROUND ;;
    my) set -- --include $D/my --grace 20s --probe "$MYQ > $o.want" -- /usr/sbin/mariadbd --user=mysql --datadir=$D/my --port=$MY_PORT --bind-address=127.0.0.1 ;;
  esac
  t0=$(date +%s.%N)
  rc=0
  $SP build --level 1 --collector "$c" $strict --probe-timeout 120s -o $o.tar.gz "$@" >$o.build 2>&1 || rc=$?
  echo $rc > $o.rc
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' > $o.seconds
}
for c in "$@"; do
  for name in ap my; do
    build "$c" $name
    build "$c" $name --strict
  done
done

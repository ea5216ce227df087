#!/usr/bin/env bash
# Start the PostgreSQL and Redis servers this machine ships if they are down.
# The integration tests talk to the real servers; fail loudly if they cannot start.
set -u
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "PostgreSQL is down; starting it with pg_ctlcluster" >&2
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  pg_up || { echo "error: PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started (is the postgresql package installed?)" >&2; exit 1; }
fi

if ! redis_up; then
  echo "Redis is down; starting redis-server" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  redis_up || { echo "error: Redis is not reachable on 127.0.0.1:6379 and could not be started (is redis-server installed?)" >&2; exit 1; }
fi

# Debian packages some tests need (install only). A package's own service is kept from
# starting by a policy-rc.d that denies, unless the machine has one already; the tests start
# their own servers on free ports.
install_debian_package() {  # install_debian_package PACKAGE CHECK_COMMAND...
  local package=$1; shift
  "$@" && return 0
  echo "$package is missing; installing Debian's $package package" >&2
  local as_root="" policy=/usr/sbin/policy-rc.d added_policy=""
  [ "$(id -u)" -eq 0 ] || as_root="sudo -n"
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $as_root tee "$policy" >/dev/null && $as_root chmod 755 "$policy" && added_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $as_root apt-get install -y --no-install-recommends "$package" >/dev/null \
    || { $as_root apt-get update >/dev/null && $as_root apt-get install -y --no-install-recommends "$package" >/dev/null; }
  [ -n "$added_policy" ] && $as_root rm -f "$policy"
  "$@" || { echo "error: could not install $package (apt-get install $package failed; are you root?)" >&2; exit 1; }
}
have_prometheus() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }
have_varnish() { [ -x /usr/sbin/varnishd ]; }
have_chromium() { [ -x /usr/bin/chromium ]; }

# Prometheus and promtool: the reconciliation test starts its own server, the rule tests run
# promtool. Varnish: the shared-cache test starts its own varnishd in front of the service.
# Chromium: the browser tests.
install_debian_package prometheus have_prometheus
install_debian_package varnish have_varnish
install_debian_package chromium have_chromium  # browser tests (Playwright drives it)
echo "services: PostgreSQL and Redis are up; $(prometheus --version 2>/dev/null | head -1); $(/usr/sbin/varnishd -V 2>&1 | head -1)"

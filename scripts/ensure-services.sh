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
echo "services: PostgreSQL and Redis are up"

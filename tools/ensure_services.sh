#!/bin/sh
# Make sure the local Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432)
# that the integration tests use are running; start whichever is down.
# Idempotent, and never fails the build itself: the tests decide (they skip an
# unreachable backend locally and fail under CI=true).
set -u

if command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    :
elif command -v redis-server >/dev/null 2>&1; then
    echo "ensure_services: starting Redis" >&2
    # Nothing persisted: the tests own every key they write.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
        || echo "ensure_services: redis-server did not start" >&2
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break
        sleep 0.5
    done
else
    echo "ensure_services: Redis is down and redis-server is not installed" >&2
fi

if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1; then
    :
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "ensure_services: starting PostgreSQL" >&2
    for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start \
            || echo "ensure_services: PostgreSQL $version did not start" >&2
    done
    pg_isready -q -h 127.0.0.1 -t 15 || echo "ensure_services: PostgreSQL not ready" >&2
else
    echo "ensure_services: PostgreSQL is down and pg_ctlcluster is not installed" >&2
fi

exit 0

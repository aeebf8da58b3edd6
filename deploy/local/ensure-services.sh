#!/usr/bin/env bash
# Start the local RabbitMQ, Redis and PostgreSQL the integration tests use, if they are installed
# but not running. Services that are not installed are left alone: the tests then skip (or, under
# CI=true, fail with a clear message).
set -u

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port name seconds
  local i
  for ((i = 0; i < $3 * 2; i++)); do up "$1" && return 0; sleep 0.5; done
  echo "ensure-services: $2 did not come up on port $1" >&2
  return 1
}

if ! up 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "ensure-services: starting PostgreSQL"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  wait_for 5432 PostgreSQL 30
fi

if ! up 6379 && command -v redis-server >/dev/null 2>&1; then
  echo "ensure-services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for 6379 Redis 15
fi

if ! up 5672 && command -v rabbitmq-server >/dev/null 2>&1; then
  echo "ensure-services: starting RabbitMQ"
  rabbitmq-server -detached
  wait_for 5672 RabbitMQ 90
fi
exit 0

#!/usr/bin/env bash
# Install the command-line tools the deployment tests use, when they are missing:
#   promtool  (Debian package `prometheus`): checks and unit-tests deploy/prometheus rules.
# kubectl (kustomize rendering) is expected on the machine already; the tests skip without it.
# Idempotent; needs root for apt-get (CI runs as root). Without apt-get it says what to install.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
  echo "install-tools: promtool missing; install Prometheus's promtool (Debian: apt-get install prometheus)" >&2
  exit 0
fi
echo "install-tools: installing promtool (Debian package prometheus)"
# The package's service is not started: there is no init system here, and none is needed.
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null \
  || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
       apt-get install -y --no-install-recommends prometheus >/dev/null; }
command -v promtool >/dev/null

#!/usr/bin/env bash
# Install the command-line tools the tests use, when they are missing:
#   promtool  (Debian package `prometheus`): checks and unit-tests deploy/prometheus rules.
#   chromium  (Debian package `chromium`): the browser the console's Playwright tests drive.
# kubectl (kustomize rendering) is expected on the machine already; the tests skip without it.
# Idempotent; needs root for apt-get (CI runs as root). Without apt-get it says what to install.
set -euo pipefail

# install_missing <command> <Debian package> <what it is for>
install_missing() {
  local command=$1 package=$2 purpose=$3
  if command -v "$command" >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
    echo "install-tools: $command missing; install it for $purpose (Debian: apt-get install $package)" >&2
    return 0
  fi
  echo "install-tools: installing $command (Debian package $package) for $purpose"
  # A package's service is not started: there is no init system here, and none is needed.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$package" >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y --no-install-recommends "$package" >/dev/null; }
  command -v "$command" >/dev/null
}

install_missing promtool prometheus "the Prometheus rule tests"
install_missing chromium chromium "the console's browser tests"

#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# This is the README's test command; .ci/run calls exactly this.
#   bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
[ -x /usr/sbin/sshd ] || apt_packages+=(openssh-server)
command -v ip >/dev/null 2>&1 || apt_packages+=(iproute2)
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_packages+=(chromium-driver)
command -v nginx >/dev/null 2>&1 || apt_packages+=(nginx-light)
command -v git >/dev/null 2>&1 || apt_packages+=(git)
command -v openssl >/dev/null 2>&1 || apt_packages+=(openssl)
command -v logrotate >/dev/null 2>&1 || apt_packages+=(logrotate)
command -v chronyd >/dev/null 2>&1 || [ -x /usr/sbin/chronyd ] || apt_packages+=(chrony)
# DNS, firewall, update, log and backup checks: the real tools they read or test with.
[ -x /usr/sbin/dnsmasq ] || apt_packages+=(dnsmasq-base)
[ -x /usr/sbin/nft ] || apt_packages+=(nftables)
[ -x /usr/sbin/iptables-save ] || apt_packages+=(iptables)
[ -d /usr/share/doc/unattended-upgrades ] || apt_packages+=(unattended-upgrades)
command -v zstd >/dev/null 2>&1 || apt_packages+=(zstd)
command -v bzip2 >/dev/null 2>&1 || apt_packages+=(bzip2)
command -v xz >/dev/null 2>&1 || apt_packages+=(xz-utils)
command -v zip >/dev/null 2>&1 || apt_packages+=(zip)
command -v unzip >/dev/null 2>&1 || apt_packages+=(unzip)
command -v pg_restore >/dev/null 2>&1 || apt_packages+=(postgresql-client)
command -v mysqldump >/dev/null 2>&1 || apt_packages+=(mariadb-client)
# Live container tests: podman with runc (crun refuses hybrid cgroup hosts) and conmon.
command -v podman >/dev/null 2>&1 || apt_packages+=(podman)
command -v runc >/dev/null 2>&1 || apt_packages+=(runc)
command -v conmon >/dev/null 2>&1 || apt_packages+=(conmon)
[ -x /usr/bin/prometheus ] || apt_packages+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || apt_packages+=(prometheus-alertmanager)
[ -x /usr/bin/prometheus-node-exporter ] || apt_packages+=(prometheus-node-exporter)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_packages+=(rabbitmq-server)
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing system packages: ${apt_packages[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  # No package may start its service here (chrony would send NTP traffic off the
  # machine): a policy-rc.d that says 101 forbids it for the install's duration.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  [ -z "$policy_added" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

# Static checks before any test: the layers (import-linter contracts in
# pyproject.toml), ruff with line length enforced, and mypy --strict on src.
# A violation fails the script here, before the suite starts.
echo "static checks: lint-imports, ruff check src tests, mypy --strict src"
.venv/bin/lint-imports
.venv/bin/ruff check src tests
.venv/bin/mypy --strict src

exec .venv/bin/python -m pytest "$@"

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
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing system packages: ${apt_packages[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
exec .venv/bin/python -m pytest "$@"

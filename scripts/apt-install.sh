#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet (as root, or
# through sudo); says which, and fails loudly if apt does.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=()
[ "$(id -u)" -ne 0 ] && SUDO=(sudo)
# env, not an assignment prefix: with SUDO empty the shell would take the assignment for a
# command name.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
  || { echo "scripts/apt-install.sh: apt-get update failed" >&2; exit 1; }
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
  || { echo "scripts/apt-install.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }

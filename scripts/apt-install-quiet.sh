#!/usr/bin/env bash
# Install Debian packages whose daemons the lab runs privately, without starting their system services.
#   scripts/apt-install-quiet.sh NAME PACKAGE...    (NAME prefixes the messages: install-NAME: ...)
# Debian starts services on install unless policy-rc.d forbids it; this forbids it for this install
# only, leaving a policy-rc.d that was already there untouched. Without root or apt-get it exits 2
# and says nothing: the caller says what to install. The caller stops anything that started anyway.
set -euo pipefail

name=$1; shift
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT

echo "install-$name: apt-get update" >&2
apt-get update -qq >/dev/null
echo "install-$name: apt-get install $*" >&2
apt-get install -y -qq --no-install-recommends "$@" >/dev/null

#!/usr/bin/env bash
# Install RabbitMQ (Debian's rabbitmq-server) when it is missing, for `lab up` and the tests.
# The lab runs its own private node under its state folder, so the system node that the
# package would start on install is kept from starting (and stopped if it started anyway).
# Needs root and apt-get; otherwise it says what to install and exits 1.
set -euo pipefail

if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-rabbitmq: RabbitMQ is not installed. Install it with your package manager" \
       "(Debian/Ubuntu: sudo apt-get install rabbitmq-server; conda: conda install -c conda-forge rabbitmq-server)," \
       "or point LAB_AMQP_URL at a running broker." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Debian starts services on install unless policy-rc.d forbids it; forbid it for this
# install only, leaving a policy-rc.d that was already there untouched.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT

echo "install-rabbitmq: apt-get update" >&2
apt-get update -qq >/dev/null
echo "install-rabbitmq: apt-get install rabbitmq-server (Erlang and RabbitMQ, about 30 MB to download)" >&2
apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null

# A system node that started anyway would hold port 5672: stop it and keep it off.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet rabbitmq-server 2>/dev/null; then
  systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
elif pgrep -u rabbitmq beam.smp >/dev/null 2>&1; then
  service rabbitmq-server stop >/dev/null 2>&1 || true
fi
echo "install-rabbitmq: installed $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null)" >&2

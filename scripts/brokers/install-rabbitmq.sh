#!/usr/bin/env bash
# Install RabbitMQ (Debian's rabbitmq-server) when it is missing, for `lab up` and the tests.
# The lab runs its own private node under its state folder, so the system node that the
# package would start on install is kept from starting (and stopped if it started anyway).
# Needs root and apt-get; otherwise it says what to install and exits 1.
set -euo pipefail

if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server >/dev/null 2>&1; then
  exit 0
fi
status=0
"$(dirname "$0")/../apt-install-quiet.sh" rabbitmq rabbitmq-server || status=$?
if [ "$status" = 2 ]; then
  echo "install-rabbitmq: RabbitMQ is not installed. Install it with your package manager" \
       "(Debian/Ubuntu: sudo apt-get install rabbitmq-server; conda: conda install -c conda-forge rabbitmq-server)," \
       "or point LAB_AMQP_URL at a running broker." >&2
  exit 1
elif [ "$status" != 0 ]; then
  exit "$status"
fi

# A system node that started anyway would hold port 5672: stop it and keep it off.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet rabbitmq-server 2>/dev/null; then
  systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
elif pgrep -u rabbitmq beam.smp >/dev/null 2>&1; then
  service rabbitmq-server stop >/dev/null 2>&1 || true
fi
echo "install-rabbitmq: installed $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null)" >&2

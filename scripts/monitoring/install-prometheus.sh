#!/usr/bin/env bash
# Install Prometheus and Alertmanager (Debian's prometheus and prometheus-alertmanager) when
# missing, for `lab up` and the tests. The lab runs its own private instances under its state
# folder, so the system daemons the packages would start on install are kept from starting (and
# stopped if they started anyway). No recommends: the node exporter would be one more daemon.
# Needs root and apt-get; otherwise it says what to install and exits 1.
set -euo pipefail

missing=()
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || missing+=(prometheus)
{ command -v prometheus-alertmanager || command -v alertmanager; } >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[ ${#missing[@]} -eq 0 ] && exit 0

status=0
"$(dirname "$0")/../apt-install-quiet.sh" prometheus "${missing[@]}" || status=$?
if [ "$status" = 2 ]; then
  echo "install-prometheus: ${missing[*]} not installed. Install with your package manager" \
       "(Debian/Ubuntu: sudo apt-get install ${missing[*]}; Binder: apt.txt)," \
       "or point LAB_PROMETHEUS_URL / LAB_ALERTMANAGER_URL at running ones." >&2
  exit 1
elif [ "$status" != 0 ]; then
  exit "$status"
fi

# A system daemon that started anyway would hold 9090/9093: stop it and keep it off.
for unit in prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$unit" 2>/dev/null; then
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  elif pgrep -u prometheus -f "/usr/bin/$unit" >/dev/null 2>&1; then
    service "$unit" stop >/dev/null 2>&1 || true
  fi
done
echo "install-prometheus: installed prometheus $(dpkg-query -W -f='${Version}' prometheus 2>/dev/null)," \
     "alertmanager $(dpkg-query -W -f='${Version}' prometheus-alertmanager 2>/dev/null)" >&2

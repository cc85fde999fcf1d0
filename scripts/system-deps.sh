#!/usr/bin/env bash
# Install the system packages a task needs, when they are missing and we may (root + apt).
#   scripts/system-deps.sh test    what the test suite needs beyond Python
# Without root or apt it only reports what is missing; the tests that need it then skip with that reason.
set -euo pipefail

want=()
case "${1:-test}" in
  test)
    command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
    # The broker tests run Apache Kafka (Java 17+, its jars through Maven) and RabbitMQ (below).
    command -v java >/dev/null 2>&1 || want+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null 2>&1 || want+=(maven)
    # Web pages (JupyterLab's rendering of the notebooks, the lab's console) are tested in headless Chromium.
    command -v chromium >/dev/null 2>&1 || want+=(chromium)
    # The container test (tests/containers) runs docker-compose.yml under podman, with images
    # made from a debootstrapped Debian (no Docker engine or registry needed).
    command -v podman >/dev/null 2>&1 || want+=(podman)
    command -v runc >/dev/null 2>&1 || want+=(runc)
    command -v debootstrap >/dev/null 2>&1 || want+=(debootstrap)
    command -v ip >/dev/null 2>&1 || want+=(iproute2)
    ;;
  *) echo "usage: $0 test" >&2; exit 2 ;;
esac

# RabbitMQ, Prometheus and Alertmanager have scripts of their own: Debian's packages would start
# system daemons on install, and the lab runs private ones.
"$(dirname "$0")/brokers/install-rabbitmq.sh" || true
"$(dirname "$0")/monitoring/install-prometheus.sh" || true

[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${want[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
else
  echo "system-deps: missing ${want[*]} (install them with your package manager)" >&2
fi

#!/usr/bin/env bash
# Run every test: set up, check generated exercises are current, then pytest.
# The test session starts the services (and brokers) it needs on free ports itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/system-deps.sh test
VENV=${LAB_VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
scripts/brokers/fetch-kafka.sh >/dev/null || echo "test: Kafka's jars could not be fetched; the Apache Kafka tests will say why" >&2

if lab release --help >/dev/null 2>&1; then
  echo "test: checking exercises/ is generated from solutions/" >&2
  lab release --check
fi
exec python -m pytest "$@"

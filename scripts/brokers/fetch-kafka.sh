#!/usr/bin/env bash
# Fetch Apache Kafka's broker jars once (mvn, from Maven Central) into the lab's cache,
# ~/.cache/integration-lab/kafka-<version>/libs; `lab up` does the same on first start.
# Nothing to do when they are cached already or KAFKA_HOME names a Kafka release folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-${LAB_VENV:-.venv}/bin/python}
[ -x "$PY" ] || PY=python3
exec "$PY" -c "from labkit.brokers.jars import main; raise SystemExit(main())"

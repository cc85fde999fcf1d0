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

# A student edition (lab release --student-edition) has no solutions/ to compare with.
if [ -d solutions ] && lab release --help >/dev/null 2>&1; then
  echo "test: checking exercises/ is generated from solutions/" >&2
  lab release --check
fi
# As root, the suite runs in a private PID namespace: the grader's hostile fixtures forge kills (of
# pid -1 among others), and whatever a test leaves running ends with the suite. bash stays PID 1
# (it reaps orphans; pytest would not) and passes pytest's exit status on.
namespaced() { [ "$(id -u)" = 0 ] && [ -z "${LAB_TEST_NO_NAMESPACE:-}" ] && unshare --pid --fork --mount-proc true 2>/dev/null; }
run_pytest() {
  if namespaced; then
    unshare --pid --fork --mount-proc -- bash -c 'python -m pytest "$@"; status=$?; exit $status' pytest "$@"
  else
    python -m pytest "$@"
  fi
}

# The whole suite (no arguments) runs as two shards at once, each a pytest session with its own
# stack, brokers, PID namespace, temporary folder and port range: much of the suite waits (on
# brokers, Prometheus, notebook kernels), so two sessions finish in little more than the longer
# one. LAB_TEST_SHARDS=1 runs one session instead.
SHARD_A=(tests/grading tests/containers tests/monitoring)
if [ $# -gt 0 ] || [ "${LAB_TEST_SHARDS:-2}" = 1 ] || ! namespaced; then
  run_pytest "$@"
  exit $?
fi
work=$(mktemp -d /tmp/lab-test-XXXXXX)
started=$SECONDS
echo "test: two shards at once: [a] ${SHARD_A[*]}; [b] the rest (logs in $work)" >&2
LAB_PORT_RANGE=20000-25999 run_pytest "${SHARD_A[@]}" --basetemp="$work/tmp-a" >"$work/a.log" 2>&1 &
pid_a=$!
ignore=(); for d in "${SHARD_A[@]}"; do ignore+=("--ignore=$d"); done
LAB_PORT_RANGE=26000-31999 run_pytest tests "${ignore[@]}" --basetemp="$work/tmp-b" >"$work/b.log" 2>&1 &
pid_b=$!
progress() { tr '\r' '\n' <"$1" | grep -o '\[ *[0-9]*%\]' | tail -1; }
said=0
while kill -0 "$pid_a" 2>/dev/null || kill -0 "$pid_b" 2>/dev/null; do
  sleep 2  # look often, say where they are once a minute
  if [ $(( (SECONDS - started) / 60 )) -gt "$said" ]; then
    said=$(( (SECONDS - started) / 60 ))
    echo "test: $said min: [a] $(progress "$work/a.log") [b] $(progress "$work/b.log")" >&2
  fi
done
status=0
wait "$pid_a" || status_a=$?; wait "$pid_b" || status_b=$?
for shard in a b; do
  echo "================================ shard $shard ================================"
  cat "$work/$shard.log"
done
echo "test: shard a exited ${status_a:-0}, shard b ${status_b:-0}, in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s" >&2
[ "${status_a:-0}" = 0 ] && [ "${status_b:-0}" = 0 ] || status=1
[ "$status" = 0 ] && rm -rf "$work"
exit $status

#!/bin/sh
# Kafka's bin/kafka-run-class.sh in short: run a class from ../libs with the JVM options that
# Kafka's scripts read from the environment.
home=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC2086  # the *_OPTS variables hold several options each
exec java ${KAFKA_HEAP_OPTS:--Xmx256M} ${KAFKA_JVM_PERFORMANCE_OPTS:-} ${KAFKA_OPTS:-} \
  ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$home/config/tools-log4j2.yaml} \
  -cp "$home/libs/*" "$@"

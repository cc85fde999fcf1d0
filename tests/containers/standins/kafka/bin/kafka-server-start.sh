#!/bin/sh
# Kafka's bin/kafka-server-start.sh in short: the broker, with its log on stdout.
home=$(cd "$(dirname "$0")/.." && pwd)
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
export KAFKA_LOG4J_OPTS="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$home/config/log4j2.yaml}"
exec "$home/bin/kafka-run-class.sh" kafka.Kafka "$@"

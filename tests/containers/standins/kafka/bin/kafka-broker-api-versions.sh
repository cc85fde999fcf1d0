#!/bin/sh
# The tool docker-compose.yml's healthcheck runs: it answers only once the broker does.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.BrokerApiVersionsCommand "$@"

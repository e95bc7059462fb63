#!/usr/bin/env bash
# The local single-node Kafka (KRaft) on its own, for running roles as separate processes:
#   deploy/local/kafka/kafka.sh start   → prints KAFKA_BROKERS=127.0.0.1:PORT and the PID
#   deploy/local/kafka/kafka.sh stop    → stops it by its PID file
# Data (and the pid file) live in kafka.local.dataDir (default ./data/kafka); jars are fetched
# once with Maven from deploy/local/kafka/pom.xml into ~/.cache/medstream.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
[ -f "$root/dist/bin/medstream.js" ] || (cd "$root" && npm run build >/dev/null)
exec node "$root/dist/bin/medstream.js" kafka "${1:?usage: kafka.sh start|stop}"

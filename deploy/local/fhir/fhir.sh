#!/usr/bin/env bash
# The local HAPI FHIR R4 server (JPA, H2, rest-hook subscriptions) without Docker:
#   deploy/local/fhir/fhir.sh start [--port N] [--heap-mb N] [--persist] [--data-dir DIR]
#       → prints FHIR_BASE_URL=http://127.0.0.1:PORT/fhir and FHIR_PID=PID, leaves it running
#   deploy/local/fhir/fhir.sh stop [--data-dir DIR]   → stops it by its PID file
#   deploy/local/fhir/fhir.sh status [--data-dir DIR] → prints the URL if it answers
# Data (pid file, logs, with --persist the H2 database) live in DIR (default ./data/fhir or
# $FHIR_DATA_DIR); the server is built once with Maven from deploy/local/fhir/pom.xml into
# ~/.cache/medstream (or $MEDSTREAM_CACHE_DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
[ -f "$root/dist/deploy/local/fhir/cli.js" ] || (cd "$root" && npm run build >/dev/null)
exec node "$root/dist/deploy/local/fhir/cli.js" "${@:?usage: fhir.sh start|stop|status}"

#!/usr/bin/env bash
# Makes sure the system parts medstream's tests and `medstream up` use are present, installing
# what is missing from Debian's packages (when run as root) rather than failing later:
#   - a Java runtime (17+) and Maven: the local single-node Kafka comes from Maven Central jars;
#   - dcmtk (echoscu, storescu, dcmsend, storescp, dcmodify) and Orthanc with its DICOMweb
#     plugin: the DICOM peers of the tests (Orthanc is started by the tests, never as a service);
#   - Chromium: the browser the web page's end-to-end test drives (playwright-core, no download);
#   - a PostgreSQL server on 127.0.0.1:5432 for the PostgreSQL variants of the tests
#     (skipped when MEDSTREAM_TEST_POSTGRES_URL points elsewhere).
# Idempotent and quiet when everything is there.
set -euo pipefail

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v dcmsend >/dev/null 2>&1 || need_apt+=(dcmtk)
command -v Orthanc >/dev/null 2>&1 || need_apt+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need_apt+=(orthanc-dicomweb)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ -z "${MEDSTREAM_TEST_POSTGRES_URL:-}" ] && ! command -v pg_ctlcluster >/dev/null 2>&1 && ! command -v pg_isready >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "medstream: missing system packages: ${need_apt[*]} (install them, or run this as root)" >&2
    exit 1
  fi
  echo "medstream: installing ${need_apt[*]} from Debian packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# PostgreSQL: start the local cluster if it is installed but not running.
if [ -z "${MEDSTREAM_TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
      version=$(ls /etc/postgresql | sort -V | tail -n 1)
      echo "medstream: starting PostgreSQL ${version}" >&2
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
      for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "medstream: PostgreSQL is not answering on 127.0.0.1:5432 (set MEDSTREAM_TEST_POSTGRES_URL)" >&2; exit 1; }
fi

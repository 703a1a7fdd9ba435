#!/usr/bin/env bash
# Connect retry under backend churn, lb4j next to HAProxy in the same run (issue 12): five echo
# backends on 127.0.0.2-6, one SIGKILLed every 3 s and restarted 5 s later, 1,500 held and 40/s
# short connections per proxy for 150 s. Installs HAProxy from Debian's packages when missing and
# builds the standalone jar when absent. Loopback only; every process started is stopped by PID.
# DURATION (150), HELD (1500), SHORT_RATE (40), KILL_EVERY (3), RESTART_AFTER (5),
# PROXIES (lb4j,haproxy) and JAVA_OPTS (-XX:NativeMemoryTracking=summary) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v haproxy >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
[ -f lb-proxy/target/lb4j-proxy.jar ] || mvn -B -q -DskipTests package
echo "machine: $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2- | xargs), $(nproc) cores," \
  "kernel $(uname -r), $(haproxy -v | head -1), $(java -version 2>&1 | head -1)"
exec python3 benchmarks/churn.py "$@"

#!/usr/bin/env bash
# Health-prober scale: 10,000 loopback targets probed every 1 s for 60 s, then 20,000 every 5 s
# for 60 s. Builds the benchmarks jar if needed. Traffic goes to 127.0.0.0/8 only.
set -euo pipefail
cd "$(dirname "$0")/.."
jar=benchmarks/target/benchmarks.jar
[ -f "$jar" ] || mvn -B -q -DskipTests package
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(java -version 2>&1 | head -1)"
for run in "10000 1 ${DURATION:-60}" "20000 5 ${DURATION:-60}"; do
  echo "## $run"
  timeout 600 java -Xmx2g -cp "$jar" io.lb4j.benchmarks.health.ProberScaleBenchmark $run
done

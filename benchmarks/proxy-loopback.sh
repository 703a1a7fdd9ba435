#!/usr/bin/env bash
# lb4j's standalone proxy next to a direct connection on loopback: bulk Gbit/s (1 and 4 streams)
# and new connections/s, alternating rounds, ratios printed. The proxy runs pinned to CPU 1, this
# harness to CPU 0 (when taskset exists). Traffic goes to 127.0.0.0/8 only.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f benchmarks/target/benchmarks.jar ] && [ -f lb-proxy/target/lb4j-proxy.jar ] \
  || mvn -B -q -DskipTests package
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(java -version 2>&1 | head -1)"
pin=(); command -v taskset >/dev/null && pin=(taskset -c 0)
"${pin[@]}" java -cp benchmarks/target/benchmarks.jar io.lb4j.benchmarks.proxy.ProxyLoopbackBenchmark \
  lb-proxy/target/lb4j-proxy.jar "${ROUNDS:-3}" "${SECONDS_PER_TEST:-5}"

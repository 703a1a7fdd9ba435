#!/usr/bin/env bash
# End to end on loopback: lb4j's standalone proxy, HAProxy (mode tcp) and nginx (stream) in
# alternation against the same backends; bulk (iperf3), new connections/s and keep-alive
# requests/s with latency (wrk); CPU per GB, per connection and per request; ratios to HAProxy.
# Installs what it needs from Debian's packages when missing. Traffic goes to 127.0.0.0/8 only;
# every run is bounded in time. ROUNDS (3), SECONDS_PER_TEST (10), WARMUP_SECONDS (20), PROXIES
# (lb4j,haproxy,nginx; lb4j-epoll adds lb4j on EPOLL), TESTS (bulk,close,ka), LB4J_TRANSPORT
# (IO_URING, the proxy's default where it loads), THREADS (1; 2 gives every proxy two threads and
# both CPUs), LB4J_JVM_OPTS, LB4J_VARIANTS (name=JVM options;...) and LB4J_BASELINE_JAR tune it.
# Its output, saved with tee to docs/charts/e2e.txt, renders as docs/charts/e2e.svg with
# io.lb4j.benchmarks.chart.E2eChart (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || nginx -V 2>&1 | grep -q with-stream \
  || need+=(libnginx-mod-stream)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -f lb-proxy/target/lb4j-proxy.jar ] || mvn -B -q -DskipTests package
exec python3 benchmarks/e2e.py "$@"

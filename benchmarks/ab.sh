#!/usr/bin/env bash
# Runs the same JMH selection against two benchmark jars, alternating A, B, A, B ... in one run,
# so that both see the same noise of a shared machine; prints each round's score per jar and the
# ratio B/A of the medians. Used to compare a change with the commit before it:
#
#   git worktree add /tmp/before <commit> && (cd /tmp/before && mvn -q -pl benchmarks -am package -DskipTests)
#   mvn -q -pl benchmarks -am package -DskipTests
#   benchmarks/ab.sh /tmp/before/benchmarks/target/benchmarks.jar benchmarks/target/benchmarks.jar \
#       ROUNDS=3 -- 'LoadBalancerBenchmark' -p algorithm=MAGLEV -prof gc
#
# Arguments after -- go to JMH; ROUNDS (default 3) rounds of one fork each per jar.
set -euo pipefail
A=$1; B=$2; shift 2
ROUNDS=3
if [[ "${1:-}" == ROUNDS=* ]]; then ROUNDS=${1#ROUNDS=}; shift; fi
[[ "${1:-}" == -- ]] && shift
out=$(mktemp -d)
for r in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    jar=$A; [[ $side == B ]] && jar=$B
    java -jar "$jar" "$@" -f 1 -rf csv -rff "$out/$side-$r.csv" > "$out/$side-$r.log" 2>&1
  done
done
python3 - "$out" "$ROUNDS" <<'PY'
import csv, sys, statistics, collections
out, rounds = sys.argv[1], int(sys.argv[2])
scores = collections.defaultdict(lambda: collections.defaultdict(list))
units = {}
for side in "AB":
    for r in range(1, rounds + 1):
        with open(f"{out}/{side}-{r}.csv") as f:
            for row in csv.DictReader(f):
                params = ",".join(f"{k[7:]}={v}" for k, v in row.items() if k.startswith("Param: "))
                name = row["Benchmark"]
                colon = name.find(":")
                end = colon if colon >= 0 else len(name)
                key = name[name.rfind(".", 0, end) + 1:] + (f"[{params}]" if params else "")
                scores[key][side].append(float(row["Score"]))
                units[key] = row["Unit"]
print(f"{'benchmark':60} {'A median':>12} {'B median':>12} {'B/A':>6}  unit  (A rounds | B rounds)")
for key in sorted(scores):
    a, b = scores[key]["A"], scores[key]["B"]
    ma, mb = statistics.median(a), statistics.median(b)
    ratio = mb / ma if ma else float("nan")
    print(f"{key:60} {ma:12.3f} {mb:12.3f} {ratio:6.2f}  {units[key]}  "
          f"({' '.join(f'{x:.2f}' for x in a)} | {' '.join(f'{x:.2f}' for x in b)})")
PY
echo "raw results: $out"

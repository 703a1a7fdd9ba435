#!/usr/bin/env python3
"""Bulk through a splice(2) relay: lb4j's relay (io_uring and epoll), HAProxy with and without
`option splice-auto`, and SpliceRelay.java (Netty's spliceTo, nothing else) in the same rounds.

One iperf3 server on 127.0.0.2 (CPU 0, restarted for every candidate), each relay pinned to CPU 1,
one and four streams for SECONDS_PER_TEST after a 5 s warm-up; Gbit/s and the relay's CPU seconds
per GB; medians and ratios to HAProxy without splice. Needs iperf3, haproxy and taskset (e2e.sh
installs them) and lb-proxy/target/lb4j-proxy.jar. Loopback only; every run bounded in time.

    python3 benchmarks/splice.py [ROUNDS]
"""
import json, os, shutil, signal, statistics, subprocess, sys, tempfile, time

from procstat import cpu_seconds

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SECS = int(os.environ.get("SECONDS_PER_TEST", "8"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAR = os.path.join(ROOT, "lb-proxy/target/lb4j-proxy.jar")
BACKEND = ("127.0.0.2", 5301)
work = tempfile.mkdtemp(prefix="lb4j-splice-")


def wait_listening(port, proc):
    # checked without connecting: a probe connection would reach iperf3's server as a test
    for _ in range(300):
        out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
        if f"127.0.0.1:{port} " in out or f"127.0.0.1]:{port} " in out:
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def iperf(port, streams, secs):
    r = subprocess.run(["taskset", "-c", "0", "iperf3", "-c", "127.0.0.1", "-p", str(port),
                        "-t", str(secs), "-P", str(streams), "-J"],
                       capture_output=True, text=True, timeout=secs + 30)
    end = json.loads(r.stdout).get("end", {})
    if "sum_received" not in end:
        raise SystemExit(f"iperf3 through port {port} failed: {r.stdout[-500:]}")
    return end["sum_received"]["bits_per_second"] / 1e9, end["sum_received"]["bytes"]


def haproxy(port, splice):
    conf = os.path.join(work, f"haproxy-{port}.cfg")
    open(conf, "w").write(
        "global\n  nbthread 1\ndefaults\n  mode tcp\n" + ("  option splice-auto\n" if splice else "")
        + "  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n"
        + f"frontend f\n  bind 127.0.0.1:{port}\n  default_backend b\n"
        + f"backend b\n  server s {BACKEND[0]}:{BACKEND[1]}\n")
    return ["haproxy", "-db", "-f", conf]


def lb4j(port, transport):
    conf = os.path.join(work, f"lb4j-{port}.yaml")
    open(conf, "w").write(f"""frontends: [ {{ name: fe, address: 127.0.0.1 }} ]
backendPools:
  - {{ name: p, backends: [ {{ id: b0, address: {BACKEND[0]}, port: {BACKEND[1]} }} ] }}
loadBalancingRules:
  - {{ name: r, frontend: fe, frontendPort: {port}, backendPool: p }}
admin: {{ enabled: false }}
proxy: {{ ioThreads: 1, transport: {transport} }}
""")
    return ["java", "-XX:+UseG1GC", "-jar", JAR, "--config", conf]


CANDIDATES = {
    "haproxy": (haproxy(9302, False), 9302),
    "haproxy-splice": (haproxy(9305, True), 9305),
    "lb4j-io_uring": (lb4j(9303, "IO_URING"), 9303),
    "lb4j-epoll": (lb4j(9304, "EPOLL"), 9304),
    "netty-splice": (["java", "-XX:+UseG1GC", "-cp", JAR,
                      os.path.join(ROOT, "benchmarks/SpliceRelay.java"), "9301",
                      BACKEND[0], str(BACKEND[1])], 9301),
}


def main():
    for tool in ("haproxy", "iperf3", "taskset", "ss"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run benchmarks/e2e.sh once, which installs it")
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "?")
    print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, cpu: {model}; kernel:"
          f" {os.uname().release}; rounds {ROUNDS}, {SECS} s per test", flush=True)
    results = {n: [] for n in CANDIDATES}
    for rnd in range(ROUNDS):
        for name, (cmd, port) in CANDIDATES.items():
            server = subprocess.Popen(["taskset", "-c", "0", "iperf3", "-s", "-B", BACKEND[0],
                                       "-p", str(BACKEND[1])],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            log = open(os.path.join(work, name + ".log"), "w")
            relay = subprocess.Popen(["taskset", "-c", "1"] + cmd, stdout=log,
                                     stderr=subprocess.STDOUT)
            try:
                time.sleep(0.3)
                wait_listening(port, relay)
                iperf(port, 1, 5)  # warm-up
                row = []
                for streams in (1, 4):
                    c0 = cpu_seconds([relay.pid])
                    gbps, nbytes = iperf(port, streams, SECS)
                    row += [gbps, (cpu_seconds([relay.pid]) - c0) / (nbytes / 1e9)]
                results[name].append(row)
                print(f"round {rnd + 1} {name}: 1 stream {row[0]:.2f} Gbit/s, {row[1]:.3f} CPU s/GB;"
                      f" 4 streams {row[2]:.2f} Gbit/s, {row[3]:.3f} CPU s/GB", flush=True)
            finally:
                for p in (relay, server):
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(20)
                    except subprocess.TimeoutExpired:
                        p.kill()
    base = [statistics.median(r[i] for r in results["haproxy"]) for i in range(4)]
    print(f"\nmedian of {ROUNDS} rounds (ratio to HAProxy without splice)")
    for name, rows in results.items():
        m = [statistics.median(r[i] for r in rows) for i in range(4)]
        print(f"{name:15} 1 stream {m[0]:6.2f} Gbit/s ({m[0] / base[0]:.2f}x), {m[1]:.3f} CPU s/GB"
              f" ({m[1] / base[1]:.2f}x); 4 streams {m[2]:6.2f} ({m[2] / base[2]:.2f}x),"
              f" {m[3]:.3f} CPU s/GB ({m[3] / base[3]:.2f}x)")


try:
    main()
finally:
    shutil.rmtree(work, ignore_errors=True)

#!/usr/bin/env python3
"""End-to-end loopback comparison of lb4j, HAProxy and nginx; see e2e.sh.

Backends: two iperf3 servers (127.0.0.2, 127.0.0.3 :5201) and nginx serving a 1 KiB body
(127.0.0.2, 127.0.0.3 :8081). Each proxy listens on 127.0.0.1 with two frontends: iperf with
client-address affinity (all of an iperf3 run's connections meet one server) and HTTP round robin.
The proxy under test is pinned to CPU 1, backends and load generators to CPU 0.
"""
import json, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time

from procstat import cpu_seconds

ROUNDS = int(os.environ.get("ROUNDS", "3"))
# TESTS=close,ka for a quicker look at some tests: bulk, close (new connections), ka (keep-alive)
TESTS = os.environ.get("TESTS", "bulk,close,ka").split(",")
# lb4j's transport under test: io_uring (AUTO's choice where it loads, since issue 17); EPOLL is
# measured beside it as "lb4j-epoll" when PROXIES names it
LB4J_TRANSPORT = os.environ.get("LB4J_TRANSPORT", "IO_URING")
SECS = int(os.environ.get("SECONDS_PER_TEST", "10"))
# load before the measured tests in every round (new connections, then keep-alive): lb4j's JIT
# (C2) is still compiling for about 15 s of load after start, which a proxy that runs for days
# pays once; the same warm-up runs for every proxy
WARMUP = int(os.environ.get("WARMUP_SECONDS", "20"))
# THREADS=2: every proxy gets two threads (lb4j ioThreads 2, HAProxy nbthread 2, nginx two
# workers) and both CPUs, as do the load generators and backends: on 2 vCPUs the proxy then
# competes with its own load, which limits what the figures can show (docs/benchmarks.md)
THREADS = int(os.environ.get("THREADS", "1"))
PROXY_CPU = "1" if THREADS == 1 else "0,1"
LOAD_CPU = "0" if THREADS == 1 else "0,1"
# the proxy's JVM options (LB4J_JVM_OPTS, space-separated); the default is the shipped launchers'
# (packaging/: G1, the JVM's default heap)
JVM_OPTS = os.environ.get("LB4J_JVM_OPTS", "-XX:+UseG1GC").split()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAR = os.path.join(ROOT, "lb-proxy/target/lb4j-proxy.jar")
BACKENDS = ["127.0.0.2", "127.0.0.3"]
PORTS = {"lb4j": (9101, 9001), "haproxy": (9102, 9002), "nginx": (9103, 9003),
         "lb4j-epoll": (9104, 9004), "lb4j-base": (9105, 9005)}
# LB4J_BASELINE_JAR=path: also run that build of the proxy (epoll) as "lb4j-base", interleaved with
# the others in the same rounds: a before/after comparison on the same machine at the same time
BASELINE_JAR = os.environ.get("LB4J_BASELINE_JAR")
# LB4J_VARIANTS="g1=-XX:+UseG1GC;serial=-Xmx512m -XX:+UseSerialGC": lb4j again (LB4J_TRANSPORT)
# under each name with those JVM options instead of LB4J_JVM_OPTS, in the same rounds
VARIANTS = [v.split("=", 1) for v in os.environ.get("LB4J_VARIANTS", "").split(";") if v.strip()]
for i, (vname, _) in enumerate(VARIANTS):
    PORTS[vname] = (9110 + i, 9010 + i)
work = tempfile.mkdtemp(prefix="lb4j-e2e-")
procs = []


def start(cmd, cpu=None, **kw):
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    log = open(os.path.join(work, f"{os.path.basename(cmd[3] if cpu is not None else cmd[0])}"
                                  f"-{len(procs)}.log"), "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, **kw)
    p.log = log.name
    procs.append(p)
    return p


def wait_port(host, port, timeout=30, proc=None):
    import socket
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            break
        try:
            socket.create_connection((host, port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    output = open(proc.log).read()[-2000:] if proc is not None else ""
    raise RuntimeError(f"nothing listens on {host}:{port}\n{output}")


def proc_tree(pid):
    out = [pid]
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        for k in kids.split():
            out += proc_tree(int(k))
    except OSError:
        pass
    return out


def backends():
    html = os.path.join(work, "html")
    os.makedirs(html)
    open(os.path.join(html, "index.html"), "w").write("x" * 1024)
    conf = os.path.join(work, "backend-nginx.conf")
    servers = "\n".join(
        f"server {{ listen {b}:8081 backlog=4096; access_log off; location / {{ root {html}; }} }}"
        for b in BACKENDS)
    open(conf, "w").write(f"""
worker_processes 1; daemon off; pid {work}/backend.pid; error_log {work}/backend.err;
events {{ worker_connections 8192; }}
http {{ keepalive_requests 1000000; {servers} }}
""")
    start(["nginx", "-c", conf, "-p", work], cpu=LOAD_CPU)
    for b in BACKENDS:
        start(["iperf3", "-s", "-B", b, "-p", "5201"], cpu=LOAD_CPU)
        wait_port(b, 8081)
        wait_port(b, 5201)


def start_lb4j(name="lb4j", transport="AUTO", jar=JAR, jvm_opts=None):
    iperf, http = PORTS[name]
    conf = os.path.join(work, name + ".yaml")
    back = lambda port: ", ".join(
        f"{{ id: b{i}, address: {b}, port: {port} }}" for i, b in enumerate(BACKENDS))
    open(conf, "w").write(f"""
frontends: [ {{ name: fe, address: 127.0.0.1 }} ]
backendPools:
  - {{ name: iperf, backends: [ {back(5201)} ] }}
  - {{ name: http, backends: [ {back(8081)} ] }}
loadBalancingRules:
  - {{ name: iperf, frontend: fe, frontendPort: {iperf}, backendPool: iperf, distributionMode: SOURCE_IP }}
  - {{ name: http, frontend: fe, frontendPort: {http}, backendPool: http, algorithm: ROUND_ROBIN }}
admin: {{ enabled: false }}
proxy: {{ ioThreads: {THREADS}, transport: {transport} }}
""")
    java = shutil.which("java")
    opts = JVM_OPTS if jvm_opts is None else jvm_opts
    p = start([java] + opts + ["-jar", jar, "--config", conf], cpu=PROXY_CPU)
    wait_port("127.0.0.1", http, proc=p)
    return p


def start_haproxy():
    iperf, http = PORTS["haproxy"]
    conf = os.path.join(work, "haproxy.cfg")
    srv = lambda port: "\n".join(f"  server b{i} {b}:{port}" for i, b in enumerate(BACKENDS))
    open(conf, "w").write(f"""
global
  nbthread {THREADS}
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend iperf
  bind 127.0.0.1:{iperf}
  default_backend iperf
backend iperf
  balance source
{srv(5201)}
frontend http
  bind 127.0.0.1:{http}
  default_backend http
backend http
  balance roundrobin
{srv(8081)}
""")
    p = start(["haproxy", "-db", "-f", conf], cpu=PROXY_CPU)
    wait_port("127.0.0.1", http, proc=p)
    return p


def start_nginx():
    iperf, http = PORTS["nginx"]
    conf = os.path.join(work, "proxy-nginx.conf")
    mod = "/usr/lib/nginx/modules/ngx_stream_module.so"
    load = f"load_module {mod};" if os.path.exists(mod) else ""
    ups = lambda port: " ".join(f"server {b}:{port};" for b in BACKENDS)
    open(conf, "w").write(f"""
{load}
worker_processes {THREADS}; daemon off; pid {work}/proxy.pid; error_log {work}/proxy.err;
events {{ worker_connections 8192; }}
stream {{
  upstream iperf {{ hash $remote_addr consistent; {ups(5201)} }}
  upstream http {{ {ups(8081)} }}
  server {{ listen 127.0.0.1:{iperf}; proxy_pass iperf; }}
  server {{ listen 127.0.0.1:{http} backlog=4096; proxy_pass http; }}
}}
""")
    p = start(["nginx", "-c", conf, "-p", work], cpu=PROXY_CPU)
    wait_port("127.0.0.1", http, proc=p)
    return p


def iperf(port, streams):
    r = subprocess.run(["taskset", "-c", LOAD_CPU, "iperf3", "-c", "127.0.0.1", "-p", str(port),
                        "-t", str(SECS), "-P", str(streams), "-J"],
                       capture_output=True, text=True, timeout=SECS + 30)
    d = json.loads(r.stdout)
    return d["end"]["sum_received"]["bits_per_second"] / 1e9, d["end"]["sum_received"]["bytes"]


def wrk(port, close, secs=SECS):
    args = ["taskset", "-c", LOAD_CPU, "wrk", f"-t{THREADS}", "-c32" if close else "-c64",
            f"-d{secs}s", "--latency", f"http://127.0.0.1:{port}/"]
    if close:
        args[4:4] = ["-H", "Connection: close"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=secs + 30)
    out = r.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Socket errors: (.*)", out)
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    lat = {}
    for q in ("50", "99"):
        m = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)", out)
        lat[q] = float(m.group(1)) * unit[m.group(2)] if m else float("nan")
    return rps, total, lat, errs.group(1) if errs else ""


def measure(name, pids):
    iperf_port, http_port = PORTS[name]
    res = {}
    for streams in ((1, 4) if "bulk" in TESTS else ()):
        c0 = cpu_seconds(pids)
        gbps, nbytes = iperf(iperf_port, streams)
        c1 = cpu_seconds(pids)
        res[f"bulk{streams}"] = gbps
        res[f"cpuPerGB{streams}"] = (c1 - c0) / (nbytes / 1e9) if nbytes else float("nan")
    for close in [c for c, t in ((True, "close"), (False, "ka")) if t in TESTS]:
        c0 = cpu_seconds(pids)
        rps, total, lat, errs = wrk(http_port, close)
        c1 = cpu_seconds(pids)
        key = "close" if close else "ka"
        res[key] = rps
        res[key + "CpuUs"] = (c1 - c0) / total * 1e6 if total else float("nan")
        res[key + "P50"] = lat["50"]
        res[key + "P99"] = lat["99"]
        if errs:
            res[key + "Errors"] = errs
    return res


def first_line(cmd):
    """The first line a version command prints (stdout or stderr), or what went wrong."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        out = (r.stdout or r.stderr).strip().splitlines()
        return out[0] if out else "?"
    except (OSError, subprocess.SubprocessError) as e:
        return f"? ({e})"


def machine():
    """CPU model, kernel and the versions of what is measured: a ratio holds on one CPU type."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    return (f"cpu: {model}; kernel: {os.uname().release}; java: {first_line(['java', '-version'])};"
            f" {first_line(['haproxy', '-v'])}; {first_line(['nginx', '-v'])};"
            f" lb4j JVM options: {' '.join(JVM_OPTS)}")


def main():
    for tool in ("haproxy", "nginx", "iperf3", "wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run benchmarks/e2e.sh, which installs it")
    print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, {os.cpu_count()} cores,"
          f" rounds {ROUNDS}, {SECS} s per test after {WARMUP} s of warm-up, {THREADS} proxy"
          f" thread(s) on CPU {PROXY_CPU}, load and backends on CPU {LOAD_CPU},"
          f" lb4j transport {LB4J_TRANSPORT}")
    print("# " + machine(), flush=True)
    backends()
    starters = {"lb4j": lambda: start_lb4j("lb4j", LB4J_TRANSPORT),
                "haproxy": start_haproxy, "nginx": start_nginx,
                "lb4j-epoll": lambda: start_lb4j("lb4j-epoll", "EPOLL")}
    if BASELINE_JAR:
        starters["lb4j-base"] = lambda: start_lb4j("lb4j-base", "EPOLL", BASELINE_JAR)
    for vname, vopts in VARIANTS:
        starters[vname] = (lambda n, o: lambda: start_lb4j(n, LB4J_TRANSPORT, JAR, o.split()))(
            vname, vopts)
    only = os.environ.get("PROXIES", "lb4j,haproxy,nginx")
    # e.g. PROXIES=lb4j,haproxy for a quicker look (the table needs both); lb4j-epoll adds lb4j
    # on epoll, beside lb4j on LB4J_TRANSPORT
    starters = {k: v for k, v in starters.items()
                if k in only.split(",") or k == "lb4j-base" or k in dict(VARIANTS)}
    results = {n: [] for n in starters}
    results.setdefault("nginx", [])
    for rnd in range(ROUNDS):
        for name, fn in starters.items():
            p = fn()
            pids = proc_tree(p.pid)
            # every round starts a fresh process, so every round warms up (the JIT, for lb4j);
            # not measured, and the same for every proxy
            if "bulk" in TESTS:
                iperf(PORTS[name][0], 1)
            wrk(PORTS[name][1], True, max(1, WARMUP - 5))
            wrk(PORTS[name][1], False, 5)
            r = measure(name, pids)
            results[name].append(r)
            print(f"round {rnd + 1} {name}: " + ", ".join(
                f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()),
                flush=True)
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    rows = [("bulk, 1 stream (Gbit/s)", "bulk1", True), ("bulk, 4 streams (Gbit/s)", "bulk4", True),
            ("CPU s per GB, 1 stream", "cpuPerGB1", False),
            ("new connections/s (wrk -c32, close)", "close", True),
            ("CPU us per connection", "closeCpuUs", False),
            ("keep-alive requests/s (wrk -c64)", "ka", True),
            ("CPU us per request", "kaCpuUs", False),
            ("keep-alive p50 ms", "kaP50", False), ("keep-alive p99 ms", "kaP99", False)]
    med = lambda n, k: statistics.median(r[k] for r in results[n])
    print()
    if not results.get("lb4j") or not results.get("haproxy"):
        print("(no summary table: it compares lb4j with HAProxy, so PROXIES must name both)")
        return
    others = [n for n in ["nginx", "lb4j-epoll", "lb4j-base"] + [v for v, _ in VARIANTS]
              if results.get(n)]
    print(f"{'median of ' + str(ROUNDS) + ' rounds':38} {'lb4j':>10} {'HAProxy':>10}"
          + "".join(f" {n:>10}" for n in others) + f" {'lb4j/HAProxy':>13}"
          + "".join(f" {n + '/HAProxy':>17}" for n in others))
    for label, key, _ in rows:
        if key not in results["lb4j"][0] or key not in results["haproxy"][0]:
            continue
        l, h = med("lb4j", key), med("haproxy", key)
        o = [med(n, key) for n in others]
        print(f"{label:38} {l:10.3g} {h:10.3g}" + "".join(f" {v:10.3g}" for v in o)
              + f" {l / h:13.2f}" + "".join(f" {v / h:17.2f}" for v in o))


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(work, ignore_errors=True)

#!/usr/bin/env python3
"""Start-up time to the first accepted connection: lb4j's proxy against HAProxy, alternating.

    python3 benchmarks/startup.py [RUNS]        # RUNS (10) starts of each, after one unmeasured

Each run starts the proxy with one TCP rule on 127.0.0.1 (a fresh port) to a backend on
127.0.0.2, then connects in a loop (every 2 ms, at most 30 s) until a connection is accepted *and*
relayed: the backend answers one byte through the proxy. The time is from exec to that byte.
lb4j runs `java -jar lb-proxy/target/lb4j-proxy.jar` with LB4J_JVM_OPTS (default
"-XX:+UseG1GC", the shipped launchers' and the end-to-end runs' options); HAProxy runs `haproxy -f`
with `nbthread 1`. Loopback only; every process is stopped by its PID.
"""
import os, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAR = os.path.join(ROOT, "lb-proxy/target/lb4j-proxy.jar")
JVM_OPTS = os.environ.get("LB4J_JVM_OPTS", "-XX:+UseG1GC").split()
work = tempfile.mkdtemp(prefix="lb4j-startup-")


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def backend():
    """A backend on 127.0.0.2 that writes one byte to each connection and closes it."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.2", 0))
    srv.listen(128)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                c.sendall(b"!")
    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


def first_byte(port, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(1) == b"!":
                    return True
        except OSError:
            pass
        time.sleep(0.002)
    return False


def lb4j_cmd(port, back):
    conf = os.path.join(work, "lb.yaml")
    with open(conf, "w") as f:
        f.write(f"""
frontends: [ {{ name: fe, address: 127.0.0.1 }} ]
backendPools: [ {{ name: p, backends: [ {{ id: b, address: 127.0.0.2, port: {back} }} ] }} ]
loadBalancingRules: [ {{ name: r, frontend: fe, frontendPort: {port}, backendPool: p }} ]
admin: {{ enabled: false }}
proxy: {{ ioThreads: 1 }}
""")
    return [shutil.which("java")] + JVM_OPTS + ["-jar", JAR, "--config", conf]


def haproxy_cmd(port, back):
    conf = os.path.join(work, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(f"""
global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 1m
  timeout server 1m
frontend fe
  bind 127.0.0.1:{port}
  default_backend p
backend p
  server b 127.0.0.2:{back}
""")
    return ["haproxy", "-f", conf]


def once(make, back):
    port = free_port("127.0.0.1")
    cmd = make(port, back)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ok = first_byte(port, t0 + 30)
        elapsed = time.monotonic() - t0
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if not ok:
        sys.exit(f"{cmd[0]}: no connection relayed within 30 s")
    return elapsed


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    if not os.path.exists(JAR):
        sys.exit(f"{JAR} is missing: mvn -B -q -DskipTests package")
    if not shutil.which("haproxy"):
        sys.exit("haproxy is missing: apt-get install haproxy")
    srv, back = backend()
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "?")
    print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, cpu {model}, kernel"
          f" {os.uname().release}, {runs} runs each, lb4j JVM options {' '.join(JVM_OPTS)}")
    once(lb4j_cmd, back)  # unmeasured: page cache, CDS archive
    once(haproxy_cmd, back)
    times = {"lb4j": [], "haproxy": []}
    for _ in range(runs):
        times["lb4j"].append(once(lb4j_cmd, back))
        times["haproxy"].append(once(haproxy_cmd, back))
    srv.close()
    for name, t in times.items():
        print(f"{name:8} median {statistics.median(t) * 1000:8.1f} ms  min {min(t) * 1000:8.1f}"
              f"  max {max(t) * 1000:8.1f}")
    print(f"lb4j / haproxy (medians): {statistics.median(times['lb4j']) / statistics.median(times['haproxy']):.1f}")


if __name__ == "__main__":
    main()

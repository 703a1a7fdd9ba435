#!/usr/bin/env python3
"""Connect retry under backend churn: lb4j and HAProxy side by side, in the same run.

Five echo backends on 127.0.0.2-6 (one process each); every KILL_EVERY seconds one of them is
killed with SIGKILL and restarted RESTART_AFTER seconds later (at most two down at once, so three
of five are always up). Both proxies front the same backends: lb4j's standalone jar on
127.0.0.1:8401 and HAProxy on 127.0.0.1:8402, configured alike (round robin, three connects per
client connection, TCP checks every 1 s, down after 2 failures, up after 2 passes).

Against each proxy: HELD connections opened first (each echoes 1 KiB once, then stays open), then
short connections at SHORT_RATE per second (connect, echo 1 KiB, close) for DURATION seconds while
the backends churn. Reported per proxy: short connections failed (by kind), held connections that
hung during the ramp, the proxy's closes after a single connect attempt (from its log), and peak
RSS sampled every second. Everything started is stopped by PID at the end, also on Ctrl-C.

Only loopback addresses are used. Run through benchmarks/churn.sh.
"""
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

DURATION = int(os.environ.get("DURATION", "150"))
HELD = int(os.environ.get("HELD", "1500"))
SHORT_RATE = float(os.environ.get("SHORT_RATE", "40"))
KILL_EVERY = float(os.environ.get("KILL_EVERY", "3"))
RESTART_AFTER = float(os.environ.get("RESTART_AFTER", "5"))
PROXIES = os.environ.get("PROXIES", "lb4j,haproxy").split(",")
JAVA_OPTS = os.environ.get("JAVA_OPTS", "-XX:NativeMemoryTracking=summary").split()
BACKEND_PORT = 9100
PORTS = {"lb4j": 8401, "haproxy": 8402}
ADMIN_PORT = 9911
HOSTS = ["127.0.0.%d" % (2 + i) for i in range(5)]
PAYLOAD = os.urandom(1024)
TIMEOUT = 5.0
HANG_TIMEOUT = 10.0

ECHO_SERVER = r"""
import asyncio, sys
async def echo(r, w):
    try:
        while True:
            b = await r.read(65536)
            if not b:
                break
            w.write(b)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def main():
    s = await asyncio.start_server(echo, sys.argv[1], int(sys.argv[2]), backlog=4096,
                                   reuse_address=True)
    async with s:
        await s.serve_forever()
asyncio.run(main())
"""

started = []  # every process this script started


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    started.append(p)
    return p


def stop_all():
    for p in started:
        if p.poll() is None:
            p.terminate()
    deadline = time.time() + 10
    for p in started:
        if p.poll() is None:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def lb4j_config(path):
    backends = "\n".join(
        "      - { id: web-%d, address: %s }" % (i, h) for i, h in enumerate(HOSTS))
    with open(path, "w") as f:
        f.write(f"""frontends:
  - name: fe
    address: 127.0.0.1
backendPools:
  - name: web
    backends:
{backends}
probes:
  - name: tcp
    protocol: TCP
    interval: 1s
    timeout: 500ms
    healthyThreshold: 2
    unhealthyThreshold: 2
    jitterPercent: 0
    initialState: HEALTHY
loadBalancingRules:
  - name: churn
    frontend: fe
    frontendPort: {PORTS['lb4j']}
    backendPool: web
    backendPort: {BACKEND_PORT}
    probe: tcp
    algorithm: ROUND_ROBIN
    idleTimeout: 5m
    connectTimeout: 5s
    maxConnectAttempts: 3
admin:
  address: 127.0.0.1
  port: {ADMIN_PORT}
shutdown:
  drainTimeout: 1s
""")


def haproxy_config(path):
    servers = "\n".join(
        "  server web-%d %s:%d" % (i, h, BACKEND_PORT) for i, h in enumerate(HOSTS))
    with open(path, "w") as f:
        f.write(f"""global
  log stdout format raw local0 info
  maxconn 8000
defaults
  mode tcp
  log global
  option tcplog
  timeout connect 5s
  timeout client 5m
  timeout server 5m
  timeout check 500ms
  retries 2
  option redispatch
frontend fe
  bind 127.0.0.1:{PORTS['haproxy']}
  default_backend be
backend be
  balance roundrobin
  default-server check inter 1s fall 2 rise 2
{servers}
""")


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


async def wait_port(host, port, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            r, w = await asyncio.open_connection(host, port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise SystemExit("nothing listens on %s:%d after %ds" % (host, port, seconds))


async def echo_once(port, keep=False):
    """Connects, echoes 1 KiB; returns (outcome, writer or None)."""
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
    except asyncio.TimeoutError:
        return "connect timeout", None
    except OSError as e:
        return "connect error: %s" % e.strerror, None
    try:
        w.write(PAYLOAD)
        await w.drain()
        got = await asyncio.wait_for(r.readexactly(len(PAYLOAD)), TIMEOUT)
        outcome = "ok" if got == PAYLOAD else "corrupt"
    except asyncio.IncompleteReadError:
        outcome = "closed before the echo"
    except asyncio.TimeoutError:
        outcome = "echo timeout"
    except OSError as e:
        outcome = "reset: %s" % e.strerror
    if keep and outcome == "ok":
        return outcome, w
    w.close()
    return outcome, None


def count(d, k):
    d[k] = d.get(k, 0) + 1


async def held_ramp(port, result, writers):
    sem = asyncio.Semaphore(200)

    async def one():
        async with sem:
            try:
                outcome, w = await asyncio.wait_for(echo_once(port, keep=True), HANG_TIMEOUT)
            except asyncio.TimeoutError:
                outcome, w = "hung > %ds" % HANG_TIMEOUT, None
        count(result, outcome)
        if w is not None:
            writers.append(w)

    await asyncio.gather(*(one() for _ in range(HELD)))


async def short_load(port, result, stop_at):
    tasks = set()
    interval = 1.0 / SHORT_RATE
    next_at = time.monotonic()
    while time.monotonic() < stop_at:
        async def one():
            outcome, _ = await echo_once(port)
            count(result, outcome)
        t = asyncio.ensure_future(one())
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        next_at += interval
        await asyncio.sleep(max(0, next_at - time.monotonic()))
    if tasks:
        await asyncio.gather(*tasks)


async def churn(backends, stop_at, events):
    i = 0
    pending = []
    t0 = time.monotonic()
    next_kill = t0 + KILL_EVERY
    while time.monotonic() < stop_at:
        now = time.monotonic()
        for due, idx in list(pending):
            if now >= due:
                backends[idx] = spawn([sys.executable, "-c", ECHO_SERVER, HOSTS[idx],
                                       str(BACKEND_PORT)])
                pending.remove((due, idx))
                events.append("%.1f restart web-%d" % (now - t0, idx))
        if now >= next_kill:
            idx = i % len(HOSTS)
            i += 1
            backends[idx].send_signal(signal.SIGKILL)
            backends[idx].wait()
            pending.append((now + RESTART_AFTER, idx))
            events.append("%.1f kill web-%d" % (now - t0, idx))
            next_kill += KILL_EVERY
        await asyncio.sleep(0.05)
    for due, idx in pending:  # leave every backend up at the end
        backends[idx] = spawn([sys.executable, "-c", ECHO_SERVER, HOSTS[idx], str(BACKEND_PORT)])


async def sample_rss(pids, peaks, stop):
    while not stop.is_set():
        for name, pid in pids.items():
            peaks[name] = max(peaks.get(name, 0), rss_kib(pid))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass


async def still_open(writers):
    """Echoes 16 bytes on every held connection; returns how many still answer."""
    alive = 0
    for w in writers:
        if w.is_closing():
            continue
        try:
            w.write(b"x" * 16)
            await w.drain()
            alive += 1
        except OSError:
            pass
    return alive


def lb4j_single_attempt_closes(log):
    """From GiveUpLog's lines: closes whose set of failed backends has one member."""
    single = total = 0
    for line in log:
        m = re.search(r"closing .* after (\d+) failed connect attempts \(backends ([^)]*)\)", line)
        if m:
            total += 1
            single += int(m.group(1)) == 1
        m = re.search(r"(\d+) more client connections closed after failed connects to backends "
                      r"(\S[^(]*?) \(", line)
        if m:
            n = int(m.group(1))
            total += n
            single += n if "," not in m.group(2) else 0
    return single, total


def haproxy_closes(log):
    """From tcplog lines: (closes after one connect, failed closes, redispatched connections)."""
    single = failed = redispatched = 0
    for line in log:
        m = re.search(r" (\S\S) \d+/\d+/\d+/\d+/(\+?)(\d+) \d+/\d+", line)
        if not m:
            continue
        state, plus, retries = m.group(1), m.group(2), int(m.group(3))
        redispatched += plus == "+"
        if state[0] == "S" and state[1] == "C":
            failed += 1
            single += retries == 0 and plus == ""
    return single, failed, redispatched


async def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    jar = os.path.join(root, "lb-proxy", "target", "lb4j-proxy.jar")
    work = tempfile.mkdtemp(prefix="lb4j-churn-")
    backends = [spawn([sys.executable, "-c", ECHO_SERVER, h, str(BACKEND_PORT)]) for h in HOSTS]
    for h in HOSTS:
        await wait_port(h, BACKEND_PORT)
    pids, logs = {}, {}
    if "lb4j" in PROXIES:
        lb4j_config(os.path.join(work, "lb4j.yaml"))
        logs["lb4j"] = os.path.join(work, "lb4j.log")
        p = spawn(["java"] + JAVA_OPTS + ["-jar", jar, "--config", os.path.join(work, "lb4j.yaml")],
                  stdout=open(logs["lb4j"], "w"), stderr=subprocess.STDOUT)
        pids["lb4j"] = p.pid
        await wait_port("127.0.0.1", PORTS["lb4j"])
    if "haproxy" in PROXIES:
        haproxy_config(os.path.join(work, "haproxy.cfg"))
        logs["haproxy"] = os.path.join(work, "haproxy.log")
        p = spawn(["haproxy", "-db", "-f", os.path.join(work, "haproxy.cfg")],
                  stdout=open(logs["haproxy"], "w"), stderr=subprocess.STDOUT)
        pids["haproxy"] = p.pid
        await wait_port("127.0.0.1", PORTS["haproxy"])
    peaks, stop = {}, asyncio.Event()
    sampler = asyncio.ensure_future(sample_rss(pids, peaks, stop))
    held, writers = {n: {} for n in pids}, {n: [] for n in pids}
    t_ramp = time.monotonic()
    await asyncio.gather(*(held_ramp(PORTS[n], held[n], writers[n]) for n in pids))
    ramp_s = time.monotonic() - t_ramp
    short, events = {n: {} for n in pids}, []
    stop_at = time.monotonic() + DURATION
    await asyncio.gather(churn(backends, stop_at, events),
                         *(short_load(PORTS[n], short[n], stop_at) for n in pids))
    alive = {n: await still_open(writers[n]) for n in pids}
    nmt = ""
    if "lb4j" in pids and any("NativeMemoryTracking" in o for o in JAVA_OPTS):
        nmt = subprocess.run(["jcmd", str(pids["lb4j"]), "VM.native_memory", "summary"],
                             capture_output=True, text=True).stdout
    stop.set()
    await sampler
    for n in pids:
        for w in writers[n]:
            w.close()
    stop_all()
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "duration_s": DURATION, "held_per_proxy": HELD, "short_rate": SHORT_RATE,
              "kills": sum(1 for e in events if "kill" in e), "ramp_s": round(ramp_s, 1),
              "work": work}
    for n in pids:
        with open(logs[n], errors="replace") as f:
            log = f.readlines()
        total = sum(short[n].values())
        failed = total - short[n].get("ok", 0)
        r = {"short_total": total, "short_failed": failed,
             "short_failed_pct": round(100.0 * failed / max(1, total), 2),
             "short_outcomes": short[n], "held_ramp": held[n], "held_alive_at_end": alive[n],
             "peak_rss_mib": round(peaks.get(n, 0) / 1024, 1),
             "log_lines": len(log),
             "warn_lines": sum(1 for line in log if " WARN " in line)}
        if n == "lb4j":
            r["single_attempt_closes"], r["closes_after_failed_connects"] = \
                lb4j_single_attempt_closes(log)
        else:
            r["single_attempt_closes"], r["closes_after_failed_connects"], r["redispatched"] = \
                haproxy_closes(log)
        report[n] = r
    print(json.dumps(report, indent=2))
    if nmt:
        print(nmt)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    try:
        asyncio.run(main())
    finally:
        stop_all()

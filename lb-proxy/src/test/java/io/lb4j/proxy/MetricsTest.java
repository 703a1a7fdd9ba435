package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lb4j.ProbeOutcome;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.RefusalReason;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} of a real {@link StandaloneProxy} after a scripted scenario on loopback: a
 * backend whose probe fails and then passes, a connection refused for each {@link RefusalReason}, a
 * passive ejection, a reload that takes effect (weight and admin state) and one that is refused.
 * Each series of issue 16 is asserted with its labels and a value the scenario explains; the scrape
 * is written to {@code target/metrics-scrape.txt} (the excerpt in docs/metrics.md).
 */
class MetricsTest {
  private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

  @TempDir Path dir;
  private final List<TestServer> servers = new ArrayList<>();

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @AfterEach
  void tearDown() throws IOException {
    for (TestServer s : servers) {
      s.close();
    }
  }

  /** The rules' ports, by rule. */
  private final Map<String, Integer> ports = new LinkedHashMap<>();

  /**
   * The scenario's file. Frontends: {@code web} (deny 127.0.0.5), {@code allowed} (allow only
   * 127.0.0.9), {@code limited} (1 connection), {@code behind} (PROXY header within 300 ms). Pools:
   * {@code web} (web-0 serving, web-1 on {@code web1Port}), {@code down} (one DISABLED backend),
   * {@code flaky} (nothing listens: ejected after one connect failure).
   */
  private String yaml(int web0Port, int web1Port, int flakyPort, String web0Extra) {
    StringBuilder y = new StringBuilder();
    y.append("frontends:\n")
        .append("  - { name: web, address: 127.0.0.1, deny: [127.0.0.5/32] }\n")
        .append("  - { name: allowed, address: 127.0.0.1, allow: [127.0.0.9/32] }\n")
        .append("  - { name: limited, address: 127.0.0.1, maxConnections: 1 }\n")
        .append("  - { name: behind, address: 127.0.0.1, acceptProxyProtocol: true,")
        .append(" proxyProtocolTimeout: 300ms }\n")
        .append("backendPools:\n")
        .append("  - name: web\n    backends:\n")
        .append("      - { id: web-0, address: 127.0.0.2, port: ")
        .append(web0Port)
        .append(web0Extra)
        .append(" }\n")
        .append("      - { id: web-1, address: 127.0.0.3, port: ")
        .append(web1Port)
        .append(" }\n")
        .append("  - name: down\n    backends:\n")
        .append("      - { id: down-0, address: 127.0.0.4, port: ")
        .append(web0Port)
        .append(", adminState: DISABLED }\n")
        .append("  - name: flaky\n    backends:\n")
        .append("      - { id: flaky-0, address: 127.0.0.6, port: ")
        .append(flakyPort)
        .append(" }\n")
        .append("probes:\n")
        .append("  - { name: tcp, interval: 100ms, timeout: 100ms, healthyThreshold: 1,")
        .append(" unhealthyThreshold: 1, jitterPercent: 0 }\n")
        .append("loadBalancingRules:\n");
    rule(y, "app", "web", "web", ", probe: tcp");
    rule(y, "allow-only", "allowed", "web", ", probe: tcp");
    rule(y, "limited", "limited", "web", ", probe: tcp");
    rule(y, "behind", "behind", "web", ", probe: tcp");
    rule(y, "empty", "web", "down", "");
    rule(
        y,
        "eject",
        "web",
        "flaky",
        ", maxConnectAttempts: 1, outlierDetection: { consecutiveFailures: 1,"
            + " baseEjectionTime: 10m, maxEjectionTime: 10m, maxEjectionPercent: 100 }");
    y.append("admin: { port: 0 }\n");
    return y.toString();
  }

  private void rule(StringBuilder y, String name, String frontend, String pool, String extra) {
    y.append("  - { name: ")
        .append(name)
        .append(", frontend: ")
        .append(frontend)
        .append(", frontendPort: ")
        .append(ports.get(name))
        .append(", backendPool: ")
        .append(pool)
        .append(extra)
        .append(" }\n");
  }

  @Test
  void scrape_afterScriptedScenario_everyNewSeriesWithItsLabels() throws Exception {
    for (String rule : List.of("app", "allow-only", "limited", "behind", "empty", "eject")) {
      ports.put(rule, TestServer.freePort("127.0.0.1"));
    }
    TestServer web0 = server("web-0", "127.0.0.2", 0);
    int web1Port = TestServer.freePort("127.0.0.3"); // nothing listens yet: web-1's probe fails
    int flakyPort = TestServer.freePort("127.0.0.6");
    int web0Port = web0.address.getPort();
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(web0Port, web1Port, flakyPort, ""));

    try (StandaloneProxy p = StandaloneProxy.start(file)) {
      InetSocketAddress admin = p.adminAddress();
      Scrape first = scrape(admin);
      // every series is there before its first event, at zero
      for (RefusalReason reason : RefusalReason.values()) {
        assertEquals(
            0, first.value("lb4j_frontend_refusals_total", "rule", "app", "reason", lower(reason)));
      }
      assertEquals(
          0, first.value("lb4j_backend_ejections_total", "rule", "eject", "backend", "flaky-0"));
      assertEquals(0, first.value("lb4j_config_reloads_total", "result", "ok"));
      assertEquals(1, first.value("lb4j_config_last_reload_successful"), "the start counts");

      // a probe that fails, then passes
      Scrape down =
          await(
              admin,
              s -> s.has("lb4j_backend_health_state", 1, app("web-1", "state", "unhealthy")));
      assertTrue(down.value("lb4j_probe_failures_total", app("web-1", "outcome", "refused")) >= 1);
      server("web-1", "127.0.0.3", web1Port);
      await(admin, s -> s.has("lb4j_backend_health_state", 1, app("web-1", "state", "healthy")));

      // two connections relayed, one refusal per reason, one ejection
      InetSocketAddress app = p.proxy().listeners().get("app");
      for (int i = 0; i < 2; i++) {
        try (Socket s = connect("127.0.0.1", app)) {
          String greeting = TestServer.readLine(s.getInputStream());
          assertTrue(greeting.startsWith("web-"), greeting);
        }
      }
      refused("127.0.0.5", app, null); // DENY_LIST
      refused("127.0.0.1", p.proxy().listeners().get("allow-only"), null); // NOT_IN_ALLOW_LIST
      InetSocketAddress limited = p.proxy().listeners().get("limited");
      try (Socket held = connect("127.0.0.1", limited)) {
        assertTrue(TestServer.readLine(held.getInputStream()).startsWith("web-"));
        refused("127.0.0.1", limited, null); // CONNECTION_LIMIT
      }
      InetSocketAddress behind = p.proxy().listeners().get("behind");
      refused("127.0.0.1", behind, "NOT A PROXY HEADER\r\n"); // PROXY_HEADER_ERROR
      refused("127.0.0.1", behind, null); // PROXY_HEADER_TIMEOUT: silent past 300 ms
      refused("127.0.0.1", p.proxy().listeners().get("empty"), null); // NO_BACKEND
      refused("127.0.0.1", p.proxy().listeners().get("eject"), null); // connect fails: ejected
      await(
          admin,
          s -> s.has("lb4j_backend_ejections_total", 1, "rule", "eject", "backend", "flaky-0"));

      // a reload that takes effect, then one that is refused
      double beforeOk = System.currentTimeMillis() / 1000.0;
      Files.writeString(
          file, yaml(web0Port, web1Port, flakyPort, ", weight: 3, adminState: DRAINING"));
      assertNull(p.reload());
      double afterOk = System.currentTimeMillis() / 1000.0;
      Files.writeString(file, "frontends: [\n");
      assertNotNull(p.reload(), "an invalid file is refused");

      Scrape s =
          await(
              admin,
              x ->
                  x.has("lb4j_frontend_connections_active", 0, "frontend", "web")
                      && x.has("lb4j_frontend_connections_active", 0, "frontend", "limited")
                      && x.has("lb4j_frontend_connections_active", 0, "frontend", "behind"));
      Files.writeString(Path.of("target", "metrics-scrape.txt"), s.text);

      // build
      Map<String, String> build = s.labels("lb4j_build_info");
      assertEquals(System.getProperty("lb4j.test.projectVersion"), build.get("version"), s.text);
      assertEquals(System.getProperty("java.version"), build.get("java_version"));
      assertEquals(1, s.value("lb4j_build_info", build));

      // reloads
      assertEquals(1, s.value("lb4j_config_reloads_total", "result", "ok"));
      assertEquals(1, s.value("lb4j_config_reloads_total", "result", "refused"));
      assertEquals(0, s.value("lb4j_config_reloads_total", "result", "failed"));
      assertEquals(0, s.value("lb4j_config_last_reload_successful"));
      double last = s.value("lb4j_config_last_reload_seconds");
      assertTrue(last >= beforeOk - 0.001 && last <= afterOk + 0.001, "last good reload " + last);

      // weight and admin state from the reload; the DISABLED backend of the file
      assertEquals(3, s.value("lb4j_backend_weight", app("web-0")));
      assertEquals(1, s.value("lb4j_backend_weight", app("web-1")));
      assertEquals(1, s.value("lb4j_backend_admin_state", app("web-0", "state", "draining")));
      assertEquals(0, s.value("lb4j_backend_admin_state", app("web-0", "state", "enabled")));
      assertEquals(0, s.value("lb4j_backend_admin_state", app("web-0", "state", "disabled")));
      assertEquals(1, s.value("lb4j_backend_admin_state", app("web-1", "state", "enabled")));
      assertEquals(
          1,
          s.value(
              "lb4j_backend_admin_state",
              "rule",
              "empty",
              "backend",
              "down-0",
              "state",
              "disabled"));

      // health: a state set, and the transitions that led there
      assertEquals(1, s.value("lb4j_backend_health_state", app("web-1", "state", "healthy")));
      assertEquals(0, s.value("lb4j_backend_health_state", app("web-1", "state", "unhealthy")));
      assertEquals(0, s.value("lb4j_backend_health_state", app("web-1", "state", "unknown")));
      assertTrue(
          s.value("lb4j_backend_health_transitions_total", app("web-1", "to", "unhealthy")) >= 1);
      assertTrue(
          s.value("lb4j_backend_health_transitions_total", app("web-1", "to", "healthy")) >= 1);
      assertEquals(
          0, s.value("lb4j_backend_health_transitions_total", app("web-1", "to", "unknown")));
      assertEquals(
          0, s.value("lb4j_backend_health_transitions_total", app("web-0", "to", "unhealthy")));

      // probes: attempts, failures by outcome, latency histogram; shared probe, told per rule
      double attempts = s.value("lb4j_probe_attempts_total", app("web-1"));
      double refusedProbes =
          s.value("lb4j_probe_failures_total", app("web-1", "outcome", "refused"));
      assertTrue(refusedProbes >= 1 && attempts > refusedProbes, attempts + " " + refusedProbes);
      for (ProbeOutcome o : ProbeOutcome.values()) {
        if (!o.isSuccess()) {
          assertEquals(
              0, s.value("lb4j_probe_failures_total", app("web-0", "outcome", lower(o))), o.name());
        }
      }
      assertTrue(s.value("lb4j_probe_attempts_total", "rule", "behind", "backend", "web-1") >= 2);
      double count = s.value("lb4j_probe_duration_seconds_count", app("web-1"));
      // probes go on while the scrape reads: one may land between two reads, no more
      assertTrue(count >= refusedProbes + 1 && count <= attempts + 1, count + " of " + attempts);
      double all = s.value("lb4j_probe_duration_seconds_bucket", app("web-1", "le", "+Inf"));
      double under10s = s.value("lb4j_probe_duration_seconds_bucket", app("web-1", "le", "10.0"));
      assertTrue(Math.abs(count - all) <= 1, count + " vs +Inf " + all);
      assertTrue(all - under10s <= 1, "loopback probes take less than 10 s: " + under10s);
      assertTrue(
          s.value("lb4j_probe_duration_seconds_bucket", app("web-1", "le", "0.001")) <= count);
      assertTrue(s.value("lb4j_probe_duration_seconds_sum", app("web-1")) > 0);

      // ejection
      assertEquals(
          1, s.value("lb4j_backend_ejections_total", "rule", "eject", "backend", "flaky-0"));
      assertEquals(1, s.value("lb4j_backend_ejected", "rule", "eject", "backend", "flaky-0"));
      assertEquals(0, s.value("lb4j_backend_ejected", app("web-0")));

      // refusals by reason, each in its rule; the other reasons at zero
      Map<String, RefusalReason> byRule = new HashMap<>();
      byRule.put("allow-only", RefusalReason.NOT_IN_ALLOW_LIST);
      byRule.put("limited", RefusalReason.CONNECTION_LIMIT);
      byRule.put("empty", RefusalReason.NO_BACKEND);
      assertEquals(
          1, s.value("lb4j_frontend_refusals_total", "rule", "app", "reason", "deny_list"));
      for (Map.Entry<String, RefusalReason> e : byRule.entrySet()) {
        assertEquals(
            1,
            s.value(
                "lb4j_frontend_refusals_total", "rule", e.getKey(), "reason", lower(e.getValue())),
            e.getKey());
        assertEquals(
            0,
            s.value("lb4j_frontend_refusals_total", "rule", e.getKey(), "reason", "deny_list"),
            e.getKey());
      }
      assertEquals(
          1,
          s.value(
              "lb4j_frontend_refusals_total", "rule", "behind", "reason", "proxy_header_error"));
      assertEquals(
          1,
          s.value(
              "lb4j_frontend_refusals_total", "rule", "behind", "reason", "proxy_header_timeout"));
      assertEquals(1, s.value("lb4j_refusals_total", "rule", "empty"));

      // per frontend: web took 2 relayed + deny + no backend + eject; limited 2; behind 2
      assertEquals(5, s.value("lb4j_frontend_connections_total", "frontend", "web"));
      assertEquals(1, s.value("lb4j_frontend_connections_total", "frontend", "allowed"));
      assertEquals(2, s.value("lb4j_frontend_connections_total", "frontend", "limited"));
      assertEquals(2, s.value("lb4j_frontend_connections_total", "frontend", "behind"));
      assertEquals(0, s.value("lb4j_frontend_connections_active", "frontend", "web"));

      // the fingerprint (documented, not new) is still there for every rule
      assertTrue(
          s.labels("lb4j_rule_selection_fingerprint", "rule", "app").containsKey("fingerprint"));
    }
  }

  private static String[] app(String backend, String... more) {
    String[] out = new String[4 + more.length];
    out[0] = "rule";
    out[1] = "app";
    out[2] = "backend";
    out[3] = backend;
    System.arraycopy(more, 0, out, 4, more.length);
    return out;
  }

  private static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  private TestServer server(String id, String host, int port) throws IOException {
    TestServer s = new TestServer(id, host, port, TestServer.Mode.GREET_THEN_ECHO);
    servers.add(s);
    return s;
  }

  private static Socket connect(String source, InetSocketAddress to) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(source, 0));
    s.setSoTimeout(10_000);
    s.connect(to, 10_000);
    return s;
  }

  /** Connects from {@code source}, sends {@code send} if any, expects the proxy to close. */
  private static void refused(String source, InetSocketAddress to, String send) throws IOException {
    try (Socket s = connect(source, to)) {
      if (send != null) {
        s.getOutputStream().write(send.getBytes(US_ASCII));
      }
      InputStream in = s.getInputStream();
      assertEquals(-1, in.read(), "expected the proxy to close the connection to " + to);
    } catch (SocketException reset) {
      // closed with a reset: refused as well
    }
  }

  private static Scrape scrape(InetSocketAddress admin) throws IOException {
    ReadinessTest.Answer a = ReadinessTest.get(admin, "/metrics", null);
    assertEquals(200, a.status(), a.body());
    return new Scrape(a.body());
  }

  /** Scrapes until {@code done}; fails after 10 s with the last scrape. */
  private static Scrape await(InetSocketAddress admin, Predicate<Scrape> done) throws Exception {
    long deadline = System.nanoTime() + WAIT_NANOS;
    Scrape last;
    do {
      last = scrape(admin);
      if (done.test(last)) {
        return last;
      }
      TimeUnit.MILLISECONDS.sleep(50);
    } while (System.nanoTime() < deadline);
    fail("not within 10 s; last scrape:\n" + last.text);
    return last;
  }

  /** One scrape, parsed: every sample by name and labels. */
  static final class Scrape {
    private static final Pattern SAMPLE =
        Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)$");
    private static final Pattern LABEL =
        Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    final String text;
    private final List<Sample> samples = new ArrayList<>();

    record Sample(String name, Map<String, String> labels, double value) {}

    Scrape(String text) {
      this.text = text;
      for (String line : text.split("\n")) {
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        Matcher m = SAMPLE.matcher(line);
        assertTrue(m.matches(), "not a sample line: " + line);
        Map<String, String> labels = new HashMap<>();
        if (m.group(2) != null) {
          Matcher l = LABEL.matcher(m.group(2));
          while (l.find()) {
            labels.put(l.group(1), l.group(2));
          }
        }
        samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
      }
    }

    /** Returns the labels of the one sample named {@code name} whose labels include these. */
    Map<String, String> labels(String name, String... pairs) {
      return one(name, map(pairs), false).labels();
    }

    /** Returns the value of the sample with exactly these labels. */
    double value(String name, String... pairs) {
      return value(name, map(pairs));
    }

    double value(String name, Map<String, String> labels) {
      return one(name, labels, true).value();
    }

    boolean has(String name, double value, String... pairs) {
      Map<String, String> labels = map(pairs);
      for (Sample s : samples) {
        if (s.name().equals(name) && s.labels().equals(labels)) {
          return s.value() == value;
        }
      }
      return false;
    }

    private Sample one(String name, Map<String, String> labels, boolean exact) {
      List<Sample> found = new ArrayList<>();
      for (Sample s : samples) {
        if (s.name().equals(name)
            && (exact
                ? s.labels().equals(labels)
                : s.labels().entrySet().containsAll(labels.entrySet()))) {
          found.add(s);
        }
      }
      if (found.size() != 1) {
        fail(found.size() + " samples " + name + labels + " (expected: one) in:\n" + text);
      }
      return found.get(0);
    }

    private static Map<String, String> map(String... pairs) {
      Map<String, String> m = new HashMap<>();
      for (int i = 0; i < pairs.length; i += 2) {
        m.put(pairs[i], pairs[i + 1]);
      }
      return m;
    }
  }
}

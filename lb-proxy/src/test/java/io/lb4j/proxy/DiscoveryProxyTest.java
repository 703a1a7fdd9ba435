package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.discovery.Member;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A pool's members from a membership source through the real standalone proxy: the test's {@link
 * ScriptedSourceProvider} (type {@code test}, found with ServiceLoader as lb-dns's and lb-xds's
 * providers are) answers what each test scripts, and real backends on 127.0.0.2-4 say who they are.
 * Members appear in {@code /backends} and take connections, a failing source keeps them, reload
 * keeps, restarts or closes sources as their blocks say, and {@code /metrics}, {@code /rules}, the
 * report and the page show it all.
 */
class DiscoveryProxyTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger NAMES = new AtomicInteger();

  @TempDir Path dir;
  private final List<TestServer> servers = new ArrayList<>();
  private final List<StandaloneProxy> proxies = new ArrayList<>();

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @AfterEach
  void tearDown() throws IOException {
    for (StandaloneProxy p : proxies) {
      p.close();
    }
    for (TestServer s : servers) {
      s.close();
    }
  }

  /** Starts backend {@code i} on 127.0.0.(2+i), greeting with {@code web-i}. */
  private TestServer server(int i) throws IOException {
    while (servers.size() <= i) {
      servers.add(
          new TestServer(
              "web-" + servers.size(),
              "127.0.0." + (2 + servers.size()),
              TestServer.Mode.GREET_THEN_ECHO));
    }
    return servers.get(i);
  }

  /** Returns {@code 127.0.0.2:41234}, server {@code i}'s address as the source publishes it. */
  private String at(int i) throws IOException {
    InetSocketAddress a = server(i).address;
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  private Member member(int i) throws IOException {
    return ScriptedSourceProvider.member("member", at(i));
  }

  /** A unique source name: sources are found by it in {@link ScriptedSourceProvider#MADE}. */
  private static String name() {
    return "web-" + NAMES.incrementAndGet() + ".test";
  }

  /** A file with pool {@code web} fed by {@code discovery} (a flow mapping, or null for none). */
  private String yaml(int port, String discovery, String backends, String proxy) {
    StringBuilder b = new StringBuilder();
    b.append("frontends:\n  - { name: web, address: 127.0.0.1 }\n");
    b.append("backendPools:\n  - name: web\n");
    if (backends != null) {
      b.append("    backends: ").append(backends).append('\n');
    }
    if (discovery != null) {
      b.append("    discovery: ").append(discovery).append('\n');
    }
    b.append("loadBalancingRules:\n  - { name: app, frontend: web, frontendPort: ")
        .append(port)
        .append(", backendPool: web, algorithm: ROUND_ROBIN }\n");
    b.append("admin: { port: 0 }\nshutdown: { drainTimeout: 1s }\n");
    b.append("proxy: ").append(proxy).append('\n');
    return b.toString();
  }

  private StandaloneProxy start(Path file) {
    StandaloneProxy p = StandaloneProxy.start(file);
    proxies.add(p);
    return p;
  }

  private static String http(InetSocketAddress admin, String method, String path)
      throws IOException {
    try (Socket s = new Socket(admin.getAddress(), admin.getPort())) {
      s.setSoTimeout((int) WAIT.toMillis());
      s.getOutputStream()
          .write(
              (method
                      + " "
                      + path
                      + " HTTP/1.1\r\nHost: 127.0.0.1:"
                      + admin.getPort()
                      + "\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n")
                  .getBytes(US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), UTF_8);
      return answer.substring(answer.indexOf("\r\n\r\n") + 4);
    }
  }

  private static JsonNode json(StandaloneProxy p, String path) throws IOException {
    return JSON.readTree(http(p.adminAddress(), "GET", path));
  }

  /** Waits, in short parks for at most {@link #WAIT}, for what a source's thread does. */
  private static void await(BooleanSupplier done, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail(what + " not within " + WAIT);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
    }
  }

  private static DiscoveryStatus status(StandaloneProxy p) {
    List<DiscoveryStatus> all = p.proxy().loadBalancer().discoveries();
    return all.isEmpty() ? null : all.get(0);
  }

  /** Returns the ids of pool {@code web}'s members now. */
  private static Set<String> members(StandaloneProxy p) {
    Set<String> out = new TreeSet<>();
    p.proxy().loadBalancer().config().pool("web").backends().forEach(b -> out.add(b.id()));
    return out;
  }

  private Set<String> ids(int... servers) throws IOException {
    Set<String> out = new TreeSet<>();
    for (int i : servers) {
      out.add(at(i));
    }
    return out;
  }

  /** Opens {@code n} connections and returns who greeted them. */
  private static Set<String> greeters(int port, int n) throws IOException {
    Set<String> seen = new TreeSet<>();
    for (int i = 0; i < n; i++) {
      try (Socket c = new Socket("127.0.0.1", port)) {
        c.setSoTimeout((int) WAIT.toMillis());
        seen.add(TestServer.readLine(c.getInputStream()));
      }
    }
    return seen;
  }

  @ParameterizedTest(name = "ioThreads {0}")
  @ValueSource(ints = {1, 4})
  void source_membersServe_changesApply_failureKeepsThem_allShownInAdmin(int ioThreads)
      throws Exception {
    String name = name();
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(
        file,
        yaml(
            port,
            "{ type: test, name: " + name + ", members: [" + at(0) + ", " + at(1) + "] }",
            null,
            "{ ioThreads: " + ioThreads + " }"));
    StandaloneProxy p = start(file);
    {
      Set<String> want = ids(0, 1);
      await(() -> want.equals(members(p)), "the first answer");
    }
    assertEquals(Set.of("web-0", "web-1"), greeters(port, 4), "round robin over the members");

    JsonNode source = json(p, "/backends").path("discovery").path(0);
    assertEquals("web", source.path("pool").asText(), source.toString());
    assertEquals("test '" + name + "'", source.path("source").asText());
    assertEquals("OK", source.path("state").asText());
    assertEquals(List.copyOf(ids(0, 1)), sorted(source.path("members")));
    assertTrue(source.path("lastGoodAnswerAgeSeconds").isNumber(), source.toString());
    assertTrue(source.path("lastProblem").isNull(), source.toString());

    // a changed answer: member 0 leaves (its established connection stays), member 2 joins
    try (Socket held = new Socket("127.0.0.1", port)) {
      held.setSoTimeout((int) WAIT.toMillis());
      String first = TestServer.readLine(held.getInputStream());
      int leaving = first.equals("web-0") ? 0 : 1;
      int staying = 1 - leaving;
      ScriptedSourceProvider.started(name).get(0).answer(List.of(member(staying), member(2)));
      Set<String> want = ids(staying, 2);
      await(() -> want.equals(members(p)), "the second answer");
      assertEquals(Set.of("web-" + staying, "web-2"), greeters(port, 4));
      held.getOutputStream().write("still here\n".getBytes(US_ASCII));
      assertEquals("still here", TestServer.readLine(held.getInputStream()));
    }

    // the source fails: FAILING, the members stay and serve
    Set<String> before = members(p);
    ScriptedSourceProvider.started(name).get(0).fail("SERVFAIL from 127.0.0.53:53");
    await(() -> status(p).state() == DiscoveryStatus.State.FAILING, "FAILING");
    assertEquals(before, members(p));
    assertEquals(2, greeters(port, 4).size(), "both members still take connections");
    source = json(p, "/backends").path("discovery").path(0);
    assertEquals("FAILING", source.path("state").asText());
    assertEquals("SERVFAIL from 127.0.0.53:53", source.path("lastProblem").asText());
    assertEquals(List.copyOf(before), sorted(source.path("members")));
    assertEquals(1, source.path("failures").asInt());
    assertEquals(2, source.path("answers").path("applied").asInt());
    String diagnose = http(p.adminAddress(), "GET", "/diagnose");
    assertTrue(diagnose.contains("\"check\" : \"DISCOVERY_FAILING\""), diagnose);

    // an empty answer: the guard refuses it (applyEmptyAnswer is false), the members stay
    ScriptedSourceProvider.started(name).get(0).answer(List.of());
    await(() -> status(p).state() == DiscoveryStatus.State.REFUSED, "REFUSED");
    assertEquals(before, members(p));
    source = json(p, "/backends").path("discovery").path(0);
    assertEquals("REFUSED", source.path("state").asText());
    assertTrue(
        source.path("lastProblem").asText().startsWith("an empty answer"), source.toString());
    ScriptedSourceProvider.started(name).get(0).fail("SERVFAIL from 127.0.0.53:53");
    await(() -> status(p).state() == DiscoveryStatus.State.FAILING, "FAILING again");

    // the metrics
    String metrics = http(p.adminAddress(), "GET", "/metrics");
    String labels = "pool=\"web\",source=\"test '" + name + "'\"";
    assertTrue(
        metrics.contains("lb4j_discovery_state{" + labels + ",state=\"failing\"} 1.0"), metrics);
    assertTrue(metrics.contains("lb4j_discovery_state{" + labels + ",state=\"ok\"} 0.0"), metrics);
    assertTrue(metrics.contains("lb4j_discovery_members{pool=\"web\"} 2.0"), metrics);
    assertTrue(metrics.contains("lb4j_discovery_failures_total{pool=\"web\"} 2.0"), metrics);
    assertTrue(
        metrics.contains("lb4j_discovery_answers_total{pool=\"web\",result=\"applied\"} 2.0"),
        metrics);
    assertTrue(
        metrics.contains("lb4j_discovery_answers_total{pool=\"web\",result=\"refused\"} 1.0"),
        metrics);
    Matcher age =
        Pattern.compile("lb4j_discovery_last_good_answer_age_seconds\\{pool=\"web\"} ([0-9.E-]+)")
            .matcher(metrics);
    assertTrue(age.find(), metrics);
    assertTrue(Double.parseDouble(age.group(1)) >= 0, age.group());
    String fingerprint = json(p, "/rules").path(0).path("selectionFingerprint").asText();
    assertEquals(p.proxy().loadBalancer().selectionFingerprint("app"), fingerprint);
    assertTrue(
        metrics.contains(
            "lb4j_rule_selection_fingerprint{fingerprint=\""
                + fingerprint
                + "\",rule=\"app\"} 1.0"),
        metrics);

    // the report, through the CLI
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(
        0,
        ProxyCli.run(out, err, "report", "--admin", "127.0.0.1:" + p.adminAddress().getPort()),
        err.toString());
    String report = out.toString();
    assertTrue(report.contains("membership sources:"), report);
    assertTrue(report.contains("  pool web: test '" + name + "': FAILING, 2 members"), report);
    assertTrue(report.contains("    last problem: SERVFAIL from 127.0.0.53:53 (at "), report);
    assertTrue(report.contains("selection fingerprint " + fingerprint), report);
    assertTrue(report.contains("DISCOVERY_FAILING"), report);
  }

  private static List<String> sorted(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    out.sort(null);
    return out;
  }

  @Test
  void reload_unchangedKeepsTheRunningSource_changedRestartsIt_removedClosesIt() throws Exception {
    String name = name();
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    String block = "{ type: test, name: " + name + ", members: [" + at(0) + "] }";
    Files.writeString(file, yaml(port, block, null, "{ ioThreads: 2 }"));
    StandaloneProxy p = start(file);
    {
      Set<String> want = ids(0);
      await(() -> want.equals(members(p)), "the first answer");
    }
    ScriptedSourceProvider.ScriptedSource first = ScriptedSourceProvider.started(name).get(0);
    first.answer(List.of(member(0), member(1)));
    {
      Set<String> want = ids(0, 1);
      await(() -> want.equals(members(p)), "the second answer");
    }

    // unchanged block, other changes (and other backends in the file): the same source runs on,
    // and the pool keeps what it answered
    String backends =
        "[{ id: file-2, address: 127.0.0.4, port: " + server(2).address.getPort() + " }]";
    Files.writeString(
        file,
        yaml(port, block, backends, "{ ioThreads: 2 }")
            .replace("ROUND_ROBIN", "WEIGHTED_ROUND_ROBIN"));
    assertEquals(null, p.reload());
    assertEquals(List.of(first), ScriptedSourceProvider.started(name), "not restarted");
    assertFalse(first.closed);
    assertEquals(ids(0, 1), members(p), "discovered members kept, not the file's");
    assertEquals(Set.of("web-0", "web-1"), greeters(port, 4));
    assertSame(DiscoveryStatus.State.OK, status(p).state());

    // a refused reload (an invalid file) starts and closes nothing
    String changed = "{ type: test, name: " + name + ", generation: 2 }"; // no answer at start
    Files.writeString(
        file, yaml(port, changed, null, "{ ioThreads: 2 }").replace("ROUND_ROBIN", "FASTEST"));
    String refused = p.reload();
    assertTrue(refused != null && refused.contains("algorithm: 'FASTEST'"), refused);
    assertEquals(List.of(first), ScriptedSourceProvider.started(name));
    assertFalse(first.closed);

    // a changed block: the old source is closed, a new one started; the pool keeps its members
    // until the new one answers, then takes its answer
    Files.writeString(file, yaml(port, changed, null, "{ ioThreads: 2 }"));
    assertEquals(null, p.reload());
    List<ScriptedSourceProvider.ScriptedSource> started = ScriptedSourceProvider.started(name);
    assertEquals(2, started.size(), started.toString());
    assertTrue(first.closed, "the old source is closed");
    assertFalse(started.get(1).closed);
    assertEquals(ids(0, 1), members(p), "the members stay until the new source answers");
    assertSame(DiscoveryStatus.State.WAITING, status(p).state());
    assertEquals(Set.of("web-0", "web-1"), greeters(port, 4));
    started.get(1).answer(List.of(member(2)));
    {
      Set<String> want = ids(2);
      await(() -> want.equals(members(p)), "the new source's answer");
    }
    assertEquals(Set.of("web-2"), greeters(port, 2));
    assertEquals(
        "test '" + name + "' generation 2",
        json(p, "/backends").path("discovery").path(0).path("source").asText());

    // the block removed: the source is closed, the pool takes the file's backends
    Files.writeString(
        file, yaml(port, null, backends.replace("file-2", "file-only"), "{ ioThreads: 2 }"));
    assertEquals(null, p.reload());
    assertTrue(started.get(1).closed);
    assertEquals(Set.of("file-only"), members(p));
    assertEquals(List.of(), p.proxy().loadBalancer().discoveries());
    assertEquals(0, json(p, "/backends").path("discovery").size());
    String metrics = http(p.adminAddress(), "GET", "/metrics");
    assertFalse(metrics.contains("lb4j_discovery_state{"), "series of a closed source: " + metrics);
    assertEquals(2, ScriptedSourceProvider.started(name).size(), "nothing else started");

    // shutdown closes every source
    String again = name();
    Files.writeString(
        file,
        yaml(
            port,
            "{ type: test, name: " + again + ", members: [" + at(0) + "] }",
            null,
            "{ ioThreads: 2 }"));
    assertEquals(null, p.reload());
    ScriptedSourceProvider.ScriptedSource last = ScriptedSourceProvider.started(again).get(0);
    p.shutdown();
    assertTrue(last.closed, "closed at shutdown");
  }

  @Test
  void source_withBackendsInTheFile_startsWithThemUntilItsFirstAnswer() throws Exception {
    String name = name();
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    String backends =
        "[{ id: file-2, address: 127.0.0.4, port: " + server(2).address.getPort() + " }]";
    Files.writeString(
        file, yaml(port, "{ type: test, name: " + name + " }", backends, "{ ioThreads: 1 }"));
    StandaloneProxy p = start(file);
    assertEquals(Set.of("web-2"), greeters(port, 2), "the file's backends, before any answer");
    assertSame(DiscoveryStatus.State.WAITING, status(p).state());
    assertEquals("WAITING", json(p, "/backends").path("discovery").path(0).path("state").asText());
    ScriptedSourceProvider.started(name).get(0).answer(List.of(member(0), member(1)));
    Set<String> want = ids(0, 1);
    await(() -> want.equals(members(p)), "the first answer");
    assertEquals(Set.of("web-0", "web-1"), greeters(port, 4));
  }

  @Test
  void rules_fingerprintsEqualAcrossProxiesWithTheSameMembersAndSeed() throws Exception {
    String members = "[" + at(0) + ", " + at(1) + ", " + at(2) + "]";
    List<StandaloneProxy> three = new ArrayList<>();
    for (long seed : new long[] {42, 42, 43}) {
      Path file = dir.resolve("lb-" + three.size() + ".yaml");
      Files.writeString(
          file,
          yaml(
                  TestServer.freePort("127.0.0.1"),
                  "{ type: test, name: " + name() + ", members: " + members + " }",
                  null,
                  "{ ioThreads: 1, seed: " + seed + " }")
              // one host, so each proxy has its own frontend port; backendPort, which defaults
              // to it and is part of the fingerprint, is set alike (the members' own ports win)
              .replace("algorithm: ROUND_ROBIN", "algorithm: MAGLEV, backendPort: 80"));
      StandaloneProxy p = start(file);
      // the status turns OK under the balancer's lock once the new tables are published
      await(() -> status(p).state() == DiscoveryStatus.State.OK, "the first answer");
      assertEquals(3, members(p).size());
      three.add(p);
    }
    String a = json(three.get(0), "/rules").path(0).path("selectionFingerprint").asText();
    String b = json(three.get(1), "/rules").path(0).path("selectionFingerprint").asText();
    String c = json(three.get(2), "/rules").path(0).path("selectionFingerprint").asText();
    assertTrue(a.matches("[0-9a-f]{16}"), a);
    assertEquals(a, b, "same members, same seed");
    assertNotEquals(a, c, "another seed");
    int frontend = three.get(0).proxy().listeners().get("app").getPort();
    JsonNode explain = json(three.get(0), "/explain?src=127.0.0.9:40000&dst=127.0.0.1:" + frontend);
    assertTrue(
        explain.path("ruleDescription").asText().endsWith("selection fingerprint " + a),
        explain.toString());
  }

  @Test
  void page_inHeadlessChromium_showsTheSourceOfEachPool(@TempDir Path tmp) throws Exception {
    Path browser =
        AdminEndpointTest.requireBrowser(AdminEndpointTest.chromium(), System.getenv("CI"));
    String name = name();
    Path file = dir.resolve("lb.yaml");
    Files.writeString(
        file,
        yaml(
            TestServer.freePort("127.0.0.1"),
            "{ type: test, name: " + name + ", members: [" + at(0) + "] }",
            null,
            "{ ioThreads: 1 }"));
    StandaloneProxy p = start(file);
    await(() -> members(p).size() == 1, "the first answer");
    ScriptedSourceProvider.started(name).get(0).fail("timeout <after 5s> & more");
    await(() -> status(p).state() == DiscoveryStatus.State.FAILING, "FAILING");
    String dom =
        AdminEndpointTest.dumpDom(
            browser, tmp, "http://127.0.0.1:" + p.adminAddress().getPort() + "/");
    assertTrue(dom.contains("<h2>Membership sources</h2>"), dom);
    assertTrue(
        dom.contains(
            "<tr class=\"source\" data-pool=\"web\" data-state=\"FAILING\"><td>web</td><td>test '"
                + name
                + "'</td><td class=\"state FAILING\">FAILING</td><td class=\"members\" data-count=\"1\">1: "
                + at(0)
                + "</td>"),
        dom);
    assertTrue(dom.contains("timeout &lt;after 5s&gt; &amp; more (at "), "escaped: " + dom);
    assertTrue(dom.contains("data-check=\"DISCOVERY_FAILING\""), dom);
    assertTrue(dom.contains("<title>lb4j: 1 findings</title>"), "the title counts: " + dom);
  }
}

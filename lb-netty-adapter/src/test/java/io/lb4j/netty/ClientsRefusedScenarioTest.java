package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Diagnosis;
import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.testing.FakeClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Frontend refusals as findings, on loopback with real sockets: clients bind a source address
 * (127.0.0.70 in a deny network, 127.0.0.9 allowed) and connect through the proxy; {@code diagnose}
 * names the rule, the network and the sources; {@code explain} answers the refusal first; the fix,
 * applied by reload, clears the finding. Refusals age on a {@link FakeClock}.
 */
class ClientsRefusedScenarioTest {
  private static final int TIMEOUT_MS = 10_000;
  private static final String DENIED = "127.0.0.70";
  private static final String ALLOWED = "127.0.0.9";

  private final FakeClock clock = new FakeClock();
  private final List<AutoCloseable> open = new ArrayList<>();
  private TestServer backend;
  private LoadBalancerConfig config;
  private L4LoadBalancer lb;
  private NettyL4Proxy proxy;
  private InetSocketAddress frontend;

  @BeforeEach
  void setUp() throws IOException {
    backend = new TestServer("web-1", "127.0.0.2", TestServer.Mode.ECHO);
    open.add(backend);
    int port = TestServer.freePort("127.0.0.1");
    frontend = new InetSocketAddress("127.0.0.1", port);
    config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("partner", "127.0.0.1"))
            .pool(
                new BackendPool(
                    "web", List.of(Backend.of("web-1", "127.0.0.2", backend.address.getPort()))))
            .rule(
                LoadBalancingRule.builder("web")
                    .frontend("partner")
                    .frontendPort(port)
                    .backendPool("web")
                    .build())
            .build();
    lb = L4LoadBalancer.builder().config(config).build();
    open.add(lb);
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private void start(FrontendOptions options) {
    proxy =
        NettyL4Proxy.builder()
            .loadBalancer(lb)
            .ioThreads(1)
            .transport(ProxyFixture.transport)
            .ticker(clock)
            .clock(clock)
            .frontendOptions("partner", options)
            .build()
            .start();
    open.add(proxy);
  }

  private static FrontendOptions deny(String... cidrs) {
    return new FrontendOptions(false, 0, List.of(), cidrs(cidrs));
  }

  private static List<Cidr> cidrs(String... cidrs) {
    List<Cidr> l = new ArrayList<>();
    for (String c : cidrs) {
      l.add(Cidr.parse(c));
    }
    return l;
  }

  /** Connects from {@code source}; the caller closes. */
  private Socket connect(String source) throws IOException {
    Socket s = new Socket();
    open.add(s);
    s.bind(new InetSocketAddress(source, 0));
    s.setSoTimeout(TIMEOUT_MS);
    s.connect(frontend, TIMEOUT_MS);
    return s;
  }

  /**
   * Connects from {@code source} and waits, bounded, for the proxy to close it unanswered: the
   * refusal is recorded before the close, so it is counted once this returns.
   */
  private void refused(String source) throws IOException {
    try (Socket s = connect(source)) {
      InputStream in = s.getInputStream();
      assertEquals(-1, in.read(), "expected the proxy to close " + source + " unanswered");
    } catch (SocketException reset) {
      // closed with a reset: refused as well
    }
  }

  /** Connects from {@code source} and checks that the backend echoes. */
  private void relayed(String source) throws IOException {
    try (Socket s = connect(source)) {
      OutputStream out = s.getOutputStream();
      out.write("ping\n".getBytes(US_ASCII));
      out.flush();
      assertEquals("ping", TestServer.readLine(s.getInputStream()), "echo for " + source);
    }
  }

  private FlowKey flowFrom(String source) {
    return FlowKey.of(Protocol.TCP, new InetSocketAddress(source, 40000), frontend);
  }

  private static Finding only(Diagnosis d, Check check) {
    List<Finding> f = d.of(check);
    assertEquals(1, f.size(), d.toString());
    return f.get(0);
  }

  @Test
  void denyListedClient_findingAndExplainRefusal_fixByReloadClearsIt() throws Exception {
    start(deny("127.0.0.64/26"));
    for (int i = 0; i < 3; i++) {
      refused(DENIED);
    }
    relayed(ALLOWED);

    Diagnosis d = proxy.diagnose();
    Finding f = only(d, Check.CLIENTS_REFUSED);
    assertEquals(Severity.WARNING, f.severity());
    assertEquals("web", f.rule());
    assertEquals(
        "frontend partner refuses clients: 3 connections from 127.0.0.70 matched deny"
            + " 127.0.0.64/26 (rule web)",
        f.what());
    assertTrue(
        f.evidence().contains("DENY_LIST 127.0.0.64/26: 3 connections, from 127.0.0.70 (3)"),
        f.toString());
    assertTrue(
        f.evidence().stream()
            .anyMatch(
                e ->
                    e.endsWith(
                        "(when frontend partner's options in force"
                            + " took effect): 3 DENY_LIST")),
        f.toString());
    assertTrue(
        f.evidence().stream()
            .anyMatch(e -> e.startsWith("refused: 127.0.0.70 DENY_LIST 127.0.0.64/26 at ")),
        f.toString());
    assertTrue(f.fix().contains("remove 127.0.0.64/26 from frontend partner's deny list"), f.fix());

    FlowExplanation refused = proxy.explain(flowFrom(DENIED));
    assertEquals(Selection.Status.REFUSED_BY_FRONTEND, refused.selection().status());
    assertEquals("web", refused.rule());
    assertTrue(
        refused
            .toString()
            .startsWith("refused: 127.0.0.70 matches deny 127.0.0.64/26 of frontend partner\n"),
        refused.toString());
    assertTrue(refused.candidates().isEmpty(), refused.toString());
    FlowExplanation allowed = proxy.explain(flowFrom(ALLOWED));
    assertEquals(Selection.Status.SELECTED, allowed.selection().status(), allowed.toString());

    Refusals.Snapshot counts = proxy.refusals("web");
    assertEquals(Map.of(RefusalReason.DENY_LIST, 3L), counts.total());
    assertEquals(3, counts.recent().size());
    assertEquals("127.0.0.64/26", counts.recent().get(0).match());

    // the fix as the finding words it: remove the deny entry, reload
    proxy.reload(config, Map.of("partner", deny()), Map.of());
    Diagnosis after = proxy.diagnose();
    assertTrue(after.of(Check.CLIENTS_REFUSED).isEmpty(), after.toString());
    assertFalse(proxy.explain(flowFrom(DENIED)).refusedByFrontend());
    relayed(DENIED);
    Refusals.Snapshot since = proxy.refusals("web");
    assertEquals(Map.of(RefusalReason.DENY_LIST, 3L), since.total()); // monotonic, for metrics
    assertTrue(since.sinceOptions().isEmpty(), since.toString());
  }

  @Test
  void denyNarrowedByReload_findingGone_otherSourcesStillDenied() throws Exception {
    start(deny("127.0.0.64/26"));
    refused(DENIED);
    assertEquals(1, proxy.diagnose().of(Check.CLIENTS_REFUSED).size());
    // narrowed: 127.0.0.64/30 (.64-.67) leaves 127.0.0.70 out
    proxy.reload(config, Map.of("partner", deny("127.0.0.64/30")), Map.of());
    assertTrue(proxy.diagnose().of(Check.CLIENTS_REFUSED).isEmpty());
    relayed(DENIED);
    refused("127.0.0.65");
    Finding f = only(proxy.diagnose(), Check.CLIENTS_REFUSED);
    assertTrue(
        f.what().contains("1 connection from 127.0.0.65 matched deny 127.0.0.64/30"), f.what());
  }

  @Test
  void unrelatedReload_keepsTheFinding() throws Exception {
    start(deny("127.0.0.64/26"));
    refused(DENIED);
    proxy.reload(config, Map.of("partner", deny("127.0.0.64/26")), Map.of());
    assertEquals(1, proxy.diagnose().of(Check.CLIENTS_REFUSED).size());
  }

  @Test
  void refusals_ageOutTenMinutesAfterTheLast() throws Exception {
    start(deny("127.0.0.64/26"));
    refused(DENIED);
    clock.forwardTime(Duration.ofMinutes(10));
    assertEquals(1, proxy.diagnose().of(Check.CLIENTS_REFUSED).size());
    clock.forwardTime(Duration.ofNanos(1));
    assertTrue(proxy.diagnose().of(Check.CLIENTS_REFUSED).isEmpty());
    refused(DENIED); // refused again: reported again, with the episode's count
    Finding f = only(proxy.diagnose(), Check.CLIENTS_REFUSED);
    assertTrue(f.what().startsWith("frontend partner refuses clients: 2 connections"), f.what());
  }

  @Test
  void notInAllowList_findingAndExplain_addingTheSourceClearsIt() throws Exception {
    start(new FrontendOptions(false, 0, cidrs("127.0.0.8/29"), List.of()));
    refused(DENIED);
    relayed(ALLOWED);
    Finding f = only(proxy.diagnose(), Check.CLIENTS_REFUSED);
    assertEquals(
        "frontend partner refuses clients: 1 connection from 127.0.0.70 not in the allow list"
            + " [127.0.0.8/29] (rule web)",
        f.what());
    assertTrue(f.fix().contains("add it (127.0.0.70/32)"), f.fix());
    assertTrue(
        proxy
            .explain(flowFrom(DENIED))
            .toString()
            .startsWith(
                "refused: 127.0.0.70 is not in the allow list [127.0.0.8/29] of frontend"
                    + " partner\n"));

    proxy.reload(
        config,
        Map.of(
            "partner",
            new FrontendOptions(false, 0, cidrs("127.0.0.8/29", "127.0.0.70/32"), List.of())),
        Map.of());
    assertTrue(proxy.diagnose().of(Check.CLIENTS_REFUSED).isEmpty());
    relayed(DENIED);
  }

  @Test
  void connectionLimit_findingAndExplainNow_raisingItClearsIt() throws Exception {
    start(new FrontendOptions(false, 1, List.of(), List.of()));
    try (Socket held = connect(ALLOWED)) {
      OutputStream out = held.getOutputStream();
      out.write("hold\n".getBytes(US_ASCII));
      out.flush();
      assertEquals("hold", TestServer.readLine(held.getInputStream())); // admitted and relaying
      refused(DENIED);
      Finding f = only(proxy.diagnose(), Check.CLIENTS_REFUSED);
      assertEquals(
          "frontend partner refuses clients: 1 connection from 127.0.0.70 refused at its limit of"
              + " 1 connection (rule web)",
          f.what());
      assertTrue(f.fix().contains("raise frontend partner's maxConnections above 1"), f.fix());
      FlowExplanation e = proxy.explain(flowFrom(DENIED));
      assertTrue(
          e.toString()
              .startsWith(
                  "refused now: frontend partner is at its limit of 1 connection (1 open)\n"),
          e.toString());

      proxy.reload(
          config, Map.of("partner", new FrontendOptions(false, 2, List.of(), List.of())), Map.of());
      assertTrue(proxy.diagnose().of(Check.CLIENTS_REFUSED).isEmpty());
      relayed(DENIED);
    }
  }
}

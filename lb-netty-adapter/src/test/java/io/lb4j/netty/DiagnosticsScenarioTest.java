package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Diagnosis;
import io.lb4j.DistributionMode;
import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.HealthEvent;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.core.L4LoadBalancer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Each diagnosis finding from a real scenario on loopback: real probes (lb4j's NIO checker), real
 * listeners that refuse, black-hole or accept, and real client connections through the proxy.
 * Health changes are awaited through the balancer's listener, each wait bounded.
 */
class DiagnosticsScenarioTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final int TIMEOUT_MS = 10_000;

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private static HealthProbe.Builder fastProbe() {
    return HealthProbe.builder("tcp")
        .interval(Duration.ofMillis(100))
        .timeout(Duration.ofMillis(100))
        .healthyThreshold(1)
        .unhealthyThreshold(1)
        .jitterPercent(0)
        .initialState(HealthState.UNKNOWN); // the first result is an event to wait on
  }

  /** Health events of a balancer, for bounded waits on a backend's state. */
  private static final class HealthWaiter implements LoadBalancerListener {
    private final BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();
    private final L4LoadBalancer lb;

    HealthWaiter(L4LoadBalancer lb) {
      this.lb = lb;
      lb.addListener(this);
    }

    @Override
    public void onHealthChange(HealthEvent event) {
      events.add(event);
    }

    void await(String rule, String backend, HealthState state) throws InterruptedException {
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (lb.health(rule, backend).state() != state) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || events.poll(left, TimeUnit.NANOSECONDS) == null) {
          fail(
              rule
                  + "/"
                  + backend
                  + " not "
                  + state
                  + " within "
                  + WAIT
                  + ": "
                  + lb.health(rule, backend));
        }
      }
    }
  }

  /** A balancer over {@code backends} with a probe on {@code probePort} (0: the data port). */
  private L4LoadBalancer balancer(
      List<Backend> backends,
      int backendPort,
      HealthProbe.Builder probe,
      java.util.function.UnaryOperator<LoadBalancingRule.Builder> rule) {
    L4LoadBalancer lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("fe", "127.0.0.1"))
                    .pool(new BackendPool("web", backends))
                    .probe(probe.build())
                    .rule(
                        rule.apply(
                                LoadBalancingRule.builder("app")
                                    .frontend("fe")
                                    .frontendPort(18080)
                                    .backendPool("web")
                                    .backendPort(backendPort)
                                    .probe("tcp"))
                            .build())
                    .build())
            .build();
    open.add(lb);
    return lb;
  }

  private ServerSocket listener(String host, int backlog) throws IOException {
    ServerSocket s = new ServerSocket(0, backlog, InetAddress.getByName(host));
    open.add(s);
    return s;
  }

  /** A listener that accepts in the kernel and never in the application: connections pile up. */
  private ServerSocket acceptingListener(String host) throws IOException {
    return listener(host, 50);
  }

  /**
   * A listener whose accept queue is full, so the kernel drops new SYNs: what a firewall that drops
   * looks like from the prober.
   */
  private ServerSocket blackHole(String host) throws IOException {
    ServerSocket s = listener(host, 1);
    for (int i = 0; i < 8; i++) {
      Socket c = new Socket();
      open.add(c);
      try {
        c.connect(s.getLocalSocketAddress(), 200);
      } catch (SocketTimeoutException full) {
        return s;
      }
    }
    fail("the accept queue of " + s + " never filled");
    return s;
  }

  private static Finding only(Diagnosis d, Check check) {
    List<Finding> f = d.of(check);
    assertEquals(1, f.size(), d.toString());
    return f.get(0);
  }

  @Test
  void nothingListensOnTheProbePort_probeFailingRefused() throws Exception {
    ServerSocket data = acceptingListener("127.0.0.2");
    int closedPort = TestServer.freePort("127.0.0.2");
    L4LoadBalancer lb =
        balancer(
            List.of(Backend.of("web-0", "127.0.0.2")),
            data.getLocalPort(),
            fastProbe().port(closedPort),
            r -> r);
    new HealthWaiter(lb).await("app", "web-0", HealthState.UNHEALTHY);
    Finding f = only(lb.diagnose(), Check.PROBE_FAILING);
    assertEquals(Severity.CRITICAL, f.severity());
    assertTrue(f.what().contains("nothing listens on port " + closedPort), f.what());
    assertTrue(f.evidence().stream().anyMatch(e -> e.contains("REFUSED")), f.toString());
  }

  @Test
  void probePortBlackHoled_probeFailingTimeout() throws Exception {
    ServerSocket data = acceptingListener("127.0.0.3");
    ServerSocket hole = blackHole("127.0.0.3");
    L4LoadBalancer lb =
        balancer(
            List.of(Backend.of("web-0", "127.0.0.3")),
            data.getLocalPort(),
            fastProbe().port(hole.getLocalPort()),
            r -> r);
    new HealthWaiter(lb).await("app", "web-0", HealthState.UNHEALTHY);
    Diagnosis d = lb.diagnose();
    Finding f = only(d, Check.PROBE_FAILING);
    assertTrue(
        f.what().contains("the probe's packets to port " + hole.getLocalPort() + " are dropped"),
        f.what());
    assertTrue(f.fix().contains("firewall"), f.fix());
    assertTrue(f.evidence().stream().anyMatch(e -> e.contains("TIMEOUT")), f.toString());
    assertTrue(
        f.evidence().stream().anyMatch(e -> e.startsWith("lb4j's own connect to the data port")),
        f.toString());
    assertEquals(List.of(), d.of(Check.BACKEND_HOST_SILENT), d.toString());
  }

  /**
   * Both ports' accept queues full: the stand-in for a host that receives SYNs and never answers.
   */
  @Test
  void probeAndDataPortQueuesFull_hostSilent() throws Exception {
    ServerSocket data = blackHole("127.0.0.4");
    ServerSocket hole = blackHole("127.0.0.4");
    L4LoadBalancer lb =
        balancer(
            List.of(Backend.of("web-0", "127.0.0.4")),
            data.getLocalPort(),
            fastProbe().port(hole.getLocalPort()),
            r -> r);
    new HealthWaiter(lb).await("app", "web-0", HealthState.UNHEALTHY);
    Diagnosis d = lb.diagnose();
    Finding f = only(d, Check.BACKEND_HOST_SILENT);
    assertEquals(Severity.CRITICAL, f.severity());
    assertEquals("web-0", f.backend());
    assertTrue(f.what().contains("the host 127.0.0.4 is silent, not one port"), f.what());
    assertTrue(f.fix().contains("route back"), f.fix());
    assertEquals(List.of(), d.of(Check.PROBE_FAILING), "folded into the host finding: " + d);
    assertEquals(List.of(), d.of(Check.DATA_PORT_REFUSED), d.toString());
  }

  /** The data port's accept queue full behind a passing probe: the stand-in for a filtered port. */
  @Test
  void dataPortQueueFullProbePasses_dataPortDoesNotAnswerWithFirewallFix() throws Exception {
    ServerSocket data = blackHole("127.0.0.5");
    ServerSocket probePort = acceptingListener("127.0.0.5");
    L4LoadBalancer lb =
        balancer(
            List.of(Backend.of("web-0", "127.0.0.5")),
            data.getLocalPort(),
            fastProbe().port(probePort.getLocalPort()),
            r -> r);
    new HealthWaiter(lb).await("app", "web-0", HealthState.HEALTHY);
    Finding f = only(lb.diagnose(), Check.DATA_PORT_REFUSED);
    assertTrue(f.what().contains("does not answer"), f.what());
    assertTrue(f.fix().contains("firewall"), f.fix());
    assertTrue(!f.fix().contains("start the service"), f.fix());
  }

  @Test
  void probePortOpenDataPortClosed_dataPortRefused() throws Exception {
    ServerSocket probed = acceptingListener("127.0.0.4");
    ServerSocket data = acceptingListener("127.0.0.4");
    int closedData = TestServer.freePort("127.0.0.4");
    L4LoadBalancer lb =
        balancer(
            List.of(
                Backend.of("web-0", "127.0.0.4", data.getLocalPort()),
                Backend.of("web-1", "127.0.0.4", closedData)),
            data.getLocalPort(),
            fastProbe().port(probed.getLocalPort()),
            r -> r);
    new HealthWaiter(lb).await("app", "web-1", HealthState.HEALTHY);
    Diagnosis d = lb.diagnose();
    Finding f = only(d, Check.DATA_PORT_REFUSED);
    assertEquals("web-1", f.backend());
    assertTrue(
        f.what()
            .contains(
                "healthy by its probe on port "
                    + probed.getLocalPort()
                    + ", but data port "
                    + closedData
                    + " refuses"),
        f.what());
    assertEquals(List.of(), d.of(Check.PROBE_FAILING), d.toString());
  }

  @Test
  void backendPortTypo_closedEverywhereWithTheProbePortHint() throws Exception {
    ServerSocket service = acceptingListener("127.0.0.5");
    int typo = TestServer.freePort("127.0.0.5");
    L4LoadBalancer lb =
        balancer(
            List.of(Backend.of("web-0", "127.0.0.5")),
            typo,
            fastProbe().port(service.getLocalPort()),
            r -> r);
    new HealthWaiter(lb).await("app", "web-0", HealthState.HEALTHY);
    Finding f = only(lb.diagnose(), Check.BACKEND_PORT_CLOSED_EVERYWHERE);
    assertTrue(f.fix().contains("is it a typo"), f.fix());
    assertTrue(f.fix().contains("The probe's port " + service.getLocalPort() + " answers"));
  }

  @Test
  void allBackendsDead_allUnhealthyWithPolicy() throws Exception {
    try (ProxyFixture f =
        new ProxyFixture(
            2,
            TestServer.Mode.ECHO,
            r -> r.probe("tcp"),
            c -> c.probe(fastProbe().build()),
            p -> p)) {
      HealthWaiter w = new HealthWaiter(f.lb);
      w.await("app", "web-0", HealthState.HEALTHY);
      w.await("app", "web-1", HealthState.HEALTHY);
      for (TestServer s : f.servers) {
        s.kill();
      }
      w.await("app", "web-0", HealthState.UNHEALTHY);
      w.await("app", "web-1", HealthState.UNHEALTHY);
      Diagnosis d = f.lb.diagnose();
      Finding finding = only(d, Check.ALL_BACKENDS_UNHEALTHY);
      assertEquals(Severity.CRITICAL, finding.severity());
      assertTrue(finding.what().contains("FAIL_CLOSED is in force: new flows are refused"));
      assertTrue(
          finding.what().contains("every data port refuses too: the services are down"),
          finding.what());
      assertEquals(List.of(), d.of(Check.BACKEND_PORT_CLOSED_EVERYWHERE), "no false lead: " + d);
    }
  }

  private static Socket connect(InetSocketAddress to, String fromHost) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(InetAddress.getByName(fromHost), 0));
    s.setSoTimeout(TIMEOUT_MS);
    s.connect(to, TIMEOUT_MS);
    return s;
  }

  /** Opens a connection through the proxy, reads the backend's greeting, and closes it. */
  private static String once(InetSocketAddress frontend, String fromHost) throws IOException {
    try (Socket s = connect(frontend, fromHost)) {
      return TestServer.readLine(s.getInputStream());
    }
  }

  @Test
  void oneSourceDominatesUnderSourceIp_unevenWithTheSource() throws Exception {
    try (ProxyFixture f =
        new ProxyFixture(
            3,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r.distributionMode(DistributionMode.SOURCE_IP),
            c -> c,
            p -> p)) {
      for (int i = 0; i < 80; i++) {
        assertTrue(once(f.frontend, "127.0.0.50").startsWith("web-"));
      }
      for (int i = 0; i < 40; i++) {
        assertTrue(once(f.frontend, "127.0.1." + (10 + i)).startsWith("web-"));
      }
      Finding finding = only(f.lb.diagnose(), Check.UNEVEN_DISTRIBUTION);
      assertEquals(Severity.WARNING, finding.severity());
      assertTrue(
          finding.what().contains("one source address, 127.0.0.50, opens 67% of them"),
          finding.toString());
    }
  }

  @Test
  void drainedBackendWithLiveConnection_flowsOnOutOfRotationBackend() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(2, TestServer.Mode.GREET_THEN_ECHO);
        Socket c = connect(f.frontend, "127.0.0.60")) {
      String id = TestServer.readLine(c.getInputStream());
      f.lb.setAdminState("web", id, AdminState.DRAINING);
      Finding finding = only(f.lb.diagnose(), Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND);
      assertEquals(id, finding.backend());
      assertEquals(Severity.INFO, finding.severity());
      assertEquals("backend " + id + " is DRAINING but still carries 1 flow", finding.what());
      assertTrue(finding.evidence().get(1).startsWith("flow TCP 127.0.0.60:"), finding.toString());
      // the connection still works, and explain says where it is pinned
      c.getOutputStream().write("ping\n".getBytes(US_ASCII));
      assertEquals("ping", TestServer.readLine(c.getInputStream()));
      FlowExplanation e =
          f.lb.explain(
              FlowKey.of(Protocol.TCP, (InetSocketAddress) c.getLocalSocketAddress(), f.frontend));
      assertTrue(e.fromFlowTable(), e.toString());
      assertEquals(id, e.selection().backend().id());
    }
  }

  @Test
  void clientIsABackend_hairpin() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(2, TestServer.Mode.GREET_THEN_ECHO)) {
      String backendHost = f.servers.get(0).address.getAddress().getHostAddress();
      try (Socket c = connect(f.frontend, backendHost)) {
        assertNotNull(TestServer.readLine(c.getInputStream()));
        Finding finding = only(f.lb.diagnose(), Check.HAIRPIN);
        assertTrue(finding.evidence().get(1).contains("from backend web-0"), finding.toString());
        assertEquals(1, f.proxy.ruleCounters("app").hairpinConnections());
      }
    }
  }

  @Test
  void healthyWellConfiguredUnderTraffic_noWarnings() throws Exception {
    try (ProxyFixture f =
        new ProxyFixture(
            3,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r.probe("tcp"),
            c -> c.probe(fastProbe().build()),
            p -> p)) {
      HealthWaiter w = new HealthWaiter(f.lb);
      for (int b = 0; b < 3; b++) {
        w.await("app", "web-" + b, HealthState.HEALTHY);
      }
      for (int i = 0; i < 90; i++) {
        assertTrue(once(f.frontend, "127.0.2." + (10 + i)).startsWith("web-"));
      }
      Diagnosis d = f.lb.diagnose();
      assertEquals(List.of(), d.atLeast(Severity.WARNING), d.toString());
    }
  }
}

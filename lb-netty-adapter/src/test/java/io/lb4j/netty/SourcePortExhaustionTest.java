package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.core.L4LoadBalancer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Source-port exhaustion on real loopback sockets, with a range the test narrows instead of the
 * machine's: a source address with its own range of 4 ports, one of them held by the test's own
 * connection to the backend (so the kernel refuses the proxy's connect from it with EADDRNOTAVAIL,
 * as when another process holds a port), or the kernel's range as the check sees it narrowed to 4
 * ports through the builder. On epoll, io_uring (skipped where it does not load) and NIO, whose
 * errors for EADDRNOTAVAIL differ in type.
 */
class SourcePortExhaustionTest {
  private static final int TIMEOUT_MS = 10_000;
  private static final String SOURCE_1 = "127.0.0.11";
  private static final String SOURCE_2 = "127.0.0.12";

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Transport.class,
      names = {"EPOLL", "IO_URING", "NIO"})
  void ownRange_portTakenElsewhere_countedAsExhaustion_secondSourceClearsFinding(Transport t)
      throws Exception {
    ProxyFixture.requireTransport(t);
    TestServer backend = new TestServer("web-0", "127.0.0.2", TestServer.Mode.GREET_THEN_ECHO);
    open.add(backend);
    int low = freeRange(4);
    // the test's own connection from 127.0.0.11:low+3 to the backend, as another process's would
    Socket squatter = new Socket();
    open.add(squatter);
    squatter.setReuseAddress(true);
    squatter.bind(new InetSocketAddress(InetAddress.getByName(SOURCE_1), low + 3));
    squatter.connect(backend.address, TIMEOUT_MS);

    RuleOptions one =
        RuleOptions.DEFAULT.withSourceAddresses(
            List.of(SourceAddress.parse(SOURCE_1 + ":" + low + "-" + (low + 3))));
    Setup s = new Setup(t, backend, one, p -> p);

    for (int i = 0; i < 3; i++) {
      s.client(); // each from its own port low..low+2
    }
    assertEquals(List.of(), s.proxy.sourcePortFindings(), "3 of 4 ports: 75%, below 80%");

    // the 4th gets low+3, whose 4-tuple to the backend is the test's: EADDRNOTAVAIL
    Socket refused = s.connect();
    assertEquals(-1, refused.getInputStream().read(), "closed by the proxy");
    await(() -> s.proxy.backendSnapshot("app", "web-0").sourcePortFailures() == 1);
    Counters.Snapshot c = s.proxy.backendSnapshot("app", "web-0");
    assertEquals(1, c.connectFailures(), "also a connect failure");
    assertEquals(1, s.proxy.ruleCounters("app").sourcePortFailures());

    List<Finding> findings = s.proxy.sourcePortFindings();
    assertEquals(1, findings.size(), findings.toString());
    Finding f = findings.get(0);
    assertEquals(
        List.of(f),
        s.proxy.diagnose().of(Check.SOURCE_PORTS_EXHAUSTING),
        "the proxy's diagnose() reports it beside the balancer's findings");
    assertEquals(Severity.CRITICAL, f.severity());
    assertEquals(Check.SOURCE_PORTS_EXHAUSTING, f.check());
    assertEquals("app", f.rule());
    assertEquals("web-0", f.backend());
    assertTrue(f.what().contains("127.0.0.2:" + backend.address.getPort()), f.what());
    assertTrue(f.what().contains("1 failed since the last connect that succeeded"), f.what());
    assertEquals(
        "3 connections open to 127.0.0.2:"
            + backend.address.getPort()
            + "; 3 of 4 source ports in use (75.0%); warning above 80% (sourcePortWarnPercent)",
        f.evidence().get(0));
    assertEquals(
        "source "
            + SOURCE_1
            + ":"
            + low
            + "-"
            + (low + 3)
            + ": 3 of 4 ports in use (75.0%; its own range, ports held by connections to every"
            + " backend)",
        f.evidence().get(1));
    assertTrue(
        f.evidence().get(2).startsWith("1 connect failed for want of a source port since start"),
        f.evidence().toString());
    assertTrue(
        f.evidence().get(2).contains("Cannot assign requested address"), f.evidence().get(2));
    assertTrue(f.fix().startsWith("add addresses to rule app's sourceAddresses"), f.fix());

    // the fix as written: a second source address, by reload
    RuleOptions two =
        one.withSourceAddresses(
            List.of(
                SourceAddress.parse(SOURCE_1 + ":" + low + "-" + (low + 3)),
                SourceAddress.parse(SOURCE_2 + ":" + low + "-" + (low + 3))));
    s.proxy.reload(s.lb.config(), Map.of(), Map.of("app", two));
    s.client(); // from 127.0.0.12, the least used
    assertEquals(List.of(), s.proxy.sourcePortFindings(), "4 of 8 ports, connects succeed");
    assertEquals(1, s.proxy.backendSnapshot("app", "web-0").sourcePortFailures());
  }

  @ParameterizedTest
  @EnumSource(
      value = Transport.class,
      names = {"EPOLL", "IO_URING", "NIO"})
  void kernelPorts_twoSourceAddresses_connectionsSpreadLeastUsedAndCountedPerSource(Transport t)
      throws Exception {
    ProxyFixture.requireTransport(t);
    TestServer backend = new TestServer("web-0", "127.0.0.2", TestServer.Mode.GREET_THEN_ECHO);
    open.add(backend);
    RuleOptions options =
        RuleOptions.DEFAULT.withSourceAddresses(
            List.of(SourceAddress.parse(SOURCE_1), SourceAddress.parse(SOURCE_2)));
    Setup s = new Setup(t, backend, options, p -> p);
    for (int i = 0; i < 6; i++) {
      s.client();
    }
    SourcePorts.Target target =
        s.proxy.sourcePorts().target(new InetSocketAddress("127.0.0.2", backend.address.getPort()));
    assertEquals(3, target.bySource.get(InetAddress.getByName(SOURCE_1)).open.get());
    assertEquals(3, target.bySource.get(InetAddress.getByName(SOURCE_2)).open.get());
    assertEquals(2, target.bySource.size(), "no connection from another address");
    assertEquals(List.of(), s.proxy.sourcePortFindings());
  }

  @ParameterizedTest
  @EnumSource(
      value = Transport.class,
      names = {"EPOLL", "NIO"})
  void kernelRange_noSourceAddresses_warnsAboveShare_clearsWhenConnectionsClose(Transport t)
      throws Exception {
    ProxyFixture.requireTransport(t);
    TestServer backend = new TestServer("web-0", "127.0.0.2", TestServer.Mode.GREET_THEN_ECHO);
    open.add(backend);
    // the check sees a kernel range of 4 ports; the kernel keeps its own
    Setup s = new Setup(t, backend, RuleOptions.DEFAULT, p -> p.localPortRange(50000, 50003));
    List<Socket> clients = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      clients.add(s.client());
    }
    await(() -> s.proxy.sourcePortFindings().size() == 1);
    Finding f = s.proxy.sourcePortFindings().get(0);
    System.out.println("[" + t + "] " + f);
    assertEquals(Severity.WARNING, f.severity());
    assertEquals("web-0", f.backend());
    assertTrue(f.what().contains("hold 100.0% of the local source ports"), f.what());
    assertTrue(
        f.evidence()
            .get(1)
            .startsWith(
                "source 127.0.0.1 (picked by the kernel: no sourceAddresses): 4 of 4 ports in use"),
        f.evidence().toString());
    assertTrue(f.fix().startsWith("bind rule app's backend connections"), f.fix());

    clients.get(0).close();
    clients.get(1).close();
    await(() -> s.proxy.backendSnapshot("app", "web-0").activeConnections() == 2);
    await(() -> s.proxy.sourcePortFindings().isEmpty()); // 2 of 4: 50%
  }

  @ParameterizedTest
  @EnumSource(
      value = Transport.class,
      names = {"EPOLL", "NIO"})
  void start_sourceAddressNotOnThisHost_refusedNamingRuleIndexAndAddress(Transport t)
      throws Exception {
    ProxyFixture.requireTransport(t);
    TestServer backend = new TestServer("web-0", "127.0.0.2", TestServer.Mode.ECHO);
    open.add(backend);
    RuleOptions options =
        RuleOptions.DEFAULT.withSourceAddresses(
            List.of(SourceAddress.parse(SOURCE_1), SourceAddress.parse("192.0.2.1")));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> new Setup(t, backend, options, p -> p));
    assertTrue(
        e.getMessage().startsWith("rule 'app': sourceAddresses[1]: '192.0.2.1' cannot be bound ("),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("; expected: an address of this host)"), e.getMessage());
  }

  /** Returns the first of {@code n} consecutive ports free on both sources, below the kernel's. */
  private static int freeRange(int n) throws IOException {
    for (int attempt = 0; attempt < 100; attempt++) {
      int low = 20000 + ThreadLocalRandom.current().nextInt(10000);
      if (free(SOURCE_1, low, n) && free(SOURCE_2, low, n)) {
        return low;
      }
    }
    throw new IOException("no " + n + " consecutive free ports in 100 tries");
  }

  private static boolean free(String host, int low, int n) {
    for (int p = low; p < low + n; p++) {
      try (Socket s = new Socket()) {
        s.bind(new InetSocketAddress(InetAddress.getByName(host), p));
      } catch (IOException e) {
        return false;
      }
    }
    return true;
  }

  private static void await(BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    assertTrue(condition.getAsBoolean(), "condition not met within 5 s");
  }

  /** A balancer with one backend and a started proxy whose rule has {@code options}. */
  private final class Setup {
    final L4LoadBalancer lb;
    final NettyL4Proxy proxy;
    final InetSocketAddress frontend;

    Setup(
        Transport t,
        TestServer backend,
        RuleOptions options,
        UnaryOperator<NettyL4Proxy.Builder> more)
        throws IOException {
      int port = TestServer.freePort("127.0.0.1");
      frontend = new InetSocketAddress("127.0.0.1", port);
      lb = L4LoadBalancer.builder().config(ProxyFixture.oneRule(port, backend).build()).build();
      open.add(lb);
      proxy =
          more.apply(
                  NettyL4Proxy.builder()
                      .loadBalancer(lb)
                      .ioThreads(1)
                      .transport(t)
                      .ruleOptions("app", options))
              .build();
      open.add(proxy);
      proxy.start();
    }

    Socket connect() throws IOException {
      Socket c = new Socket();
      open.add(c);
      c.setSoTimeout(TIMEOUT_MS);
      c.connect(frontend, TIMEOUT_MS);
      return c;
    }

    /** A client served by the backend: its greeting read. */
    Socket client() throws IOException {
      Socket c = connect();
      InputStream in = c.getInputStream();
      assertEquals("web-0", TestServer.readLine(in));
      return c;
    }
  }
}

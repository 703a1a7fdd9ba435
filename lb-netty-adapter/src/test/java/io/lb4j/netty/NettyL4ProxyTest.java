package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.DistributionMode;
import io.lb4j.HealthProbe;
import io.lb4j.InboundNatRule;
import io.lb4j.OutlierDetection;
import io.netty.channel.ChannelOption;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy over real sockets on 127.0.0.0/8 only, on the default transport; subclasses run every
 * test again on another ({@link #transport()}).
 */
class NettyL4ProxyTest {
  private static final long SEED = 44;
  private static final int TIMEOUT_MS = 10_000;

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  /** The transport this class's proxies run on. */
  Transport transport() {
    return Transport.AUTO;
  }

  @BeforeEach
  void useTransport() {
    ProxyFixture.requireTransport(transport());
    ProxyFixture.transport = transport();
  }

  @AfterEach
  void defaultTransport() {
    ProxyFixture.transport = Transport.AUTO;
  }

  @Test
  void reload_portTaken_refusedNamingRuleAndAddress_nothingLeftBound() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.ECHO);
        java.net.ServerSocket taken =
            new java.net.ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      int free = TestServer.freePort("127.0.0.1");
      io.lb4j.LoadBalancerConfig next =
          f.lb
              .config()
              .withRule(
                  io.lb4j.LoadBalancingRule.builder("a-new")
                      .frontend("fe")
                      .frontendPort(free)
                      .backendPool("web")
                      .build())
              .withRule(
                  io.lb4j.LoadBalancingRule.builder("b-taken")
                      .frontend("fe")
                      .frontendPort(taken.getLocalPort())
                      .backendPool("web")
                      .build());
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> f.proxy.reload(next, Map.of(), Map.of()));
      assertTrue(
          e.getMessage()
              .startsWith(
                  "rule 'b-taken': cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": "),
          e.getMessage());
      assertEquals(Set.of("app"), f.proxy.listeners().keySet());
      assertEquals(List.of("app"), f.lb.config().ruleNames(), "the balancer kept its rules");
      // a-new's listener was closed: its port can be bound again. NIO closes a listening socket
      // registered with a selector at the selector's next wake-up, so allow a bounded moment.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (true) {
        try (java.net.ServerSocket again = new java.net.ServerSocket()) {
          again.bind(new InetSocketAddress("127.0.0.1", free));
          break;
        } catch (java.net.BindException stillBound) {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("a-new's port is still bound 5 s after the failed reload");
          }
          Thread.onSpinWait();
        }
      }
      try (Socket c = new Socket(f.frontend.getAddress(), f.frontend.getPort())) {
        c.setSoTimeout(5000);
        c.getOutputStream().write("ping\n".getBytes(US_ASCII));
        byte[] back = c.getInputStream().readNBytes(5);
        assertEquals("ping\n", new String(back, US_ASCII), "the old rule still serves");
      }
    }
  }

  @Test
  void fixture_runsOnTheTransportOfTheClass() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.ECHO)) {
      assertEquals(transport().resolve(), f.proxy.transport());
    }
  }

  private static Socket client(InetSocketAddress to) throws IOException {
    return client(to, null);
  }

  private static Socket client(InetSocketAddress to, String bindHost) throws IOException {
    Socket s = new Socket();
    if (bindHost != null) {
      s.bind(new InetSocketAddress(InetAddress.getByName(bindHost), 0));
    }
    s.setSoTimeout(TIMEOUT_MS);
    s.connect(to, TIMEOUT_MS);
    return s;
  }

  /** Waits up to 5 s for {@code counter} to reach {@code expected}; fails with what it saw. */
  private static void awaitCount(java.util.function.LongSupplier counter, long expected) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (counter.getAsLong() < expected && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    assertEquals(expected, counter.getAsLong());
  }

  private static String readLine(InputStream in) throws IOException {
    return TestServer.readLine(in);
  }

  @Test
  void relay_manyConcurrentLargeTransfers_bytesIntact() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(3, TestServer.Mode.ECHO)) {
      int clients = 24;
      int size = 1 << 20;
      ExecutorService pool = Executors.newFixedThreadPool(clients * 2);
      try {
        List<Future<Boolean>> results = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
          int id = c;
          results.add(
              pool.submit(
                  () -> {
                    byte[] payload = new byte[size];
                    new SplittableRandom(SEED + id).nextBytes(payload);
                    try (Socket s = client(f.frontend)) {
                      Future<?> writer =
                          pool.submit(
                              () -> {
                                s.getOutputStream().write(payload);
                                s.shutdownOutput(); // half-close: the echo must still come back
                                // in full
                                return null;
                              });
                      MessageDigest got = MessageDigest.getInstance("SHA-256");
                      byte[] buf = new byte[65536];
                      long total = 0;
                      int n;
                      while ((n = s.getInputStream().read(buf)) > 0) {
                        got.update(buf, 0, n);
                        total += n;
                      }
                      writer.get(30, TimeUnit.SECONDS);
                      return total == size
                          && MessageDigest.isEqual(
                              got.digest(), MessageDigest.getInstance("SHA-256").digest(payload));
                    }
                  }));
        }
        for (int c = 0; c < clients; c++) {
          assertTrue(results.get(c).get(60, TimeUnit.SECONDS), "client " + c + " seed " + SEED);
        }
      } finally {
        pool.shutdownNow();
      }
      Counters.Snapshot rule = f.proxy.ruleCounters("app");
      assertEquals(clients, rule.totalConnections());
      assertEquals((long) clients * size, rule.bytesToBackend());
      assertEquals((long) clients * size, rule.bytesToClient());
    }
  }

  @Test
  void relay_backendNeverReads_clientStallsInsteadOfProxyBuffering() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.HOLD);
        SocketChannel c = SocketChannel.open(f.frontend)) {
      c.configureBlocking(false);
      ByteBuffer chunk = ByteBuffer.allocate(1 << 16);
      long written = 0;
      long zeroSince = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      // write until the writes have returned 0 for 500 ms: the pipe is full end to end
      while (System.nanoTime() < deadline) {
        chunk.clear();
        int n = c.write(chunk);
        written += n;
        if (n > 0) {
          zeroSince = 0;
        } else if (zeroSince == 0) {
          zeroSince = System.nanoTime();
        } else if (System.nanoTime() - zeroSince > TimeUnit.MILLISECONDS.toNanos(500)) {
          break;
        }
        if (written > (256L << 20)) {
          break;
        }
      }
      // kernel buffers on both legs plus one in-flight read in the proxy: a few MiB, not 256
      assertTrue(written < (32L << 20), "the proxy kept reading: " + written + " bytes accepted");
      assertTrue(zeroSince != 0, "the client never stalled");
    }
  }

  /** The connections {@code f}'s proxy ends from now on, in the order they end. */
  private static BlockingQueue<ConnectionRecord> endedOn(ProxyFixture f) {
    BlockingQueue<ConnectionRecord> ended = new LinkedBlockingQueue<>();
    f.proxy.addConnectionListener(
        new ConnectionListener() {
          @Override
          public void onConnectionEnded(ConnectionRecord r) {
            ended.add(r);
          }
        });
    return ended;
  }

  private static ConnectionRecord next(BlockingQueue<ConnectionRecord> ended)
      throws InterruptedException {
    ConnectionRecord r = ended.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    assertNotNull(r, "no connection ended within " + TIMEOUT_MS + " ms");
    return r;
  }

  /** The client's FIN first: the backend still answers, then its FIN ends the connection. */
  @Test
  void relay_halfClose_backendStillAnswers() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.RECORD)) {
      BlockingQueue<ConnectionRecord> ended = endedOn(f);
      try (Socket s = client(f.frontend)) {
        s.getOutputStream().write("hello END".getBytes(US_ASCII));
        s.shutdownOutput();
        assertEquals("ok", readLine(s.getInputStream()));
        assertEquals(-1, s.getInputStream().read()); // the backend's FIN, passed on
        assertEquals(
            "hello END", new String(f.servers.get(0).recorded.poll(5, TimeUnit.SECONDS), US_ASCII));
      }
      ConnectionRecord r = next(ended);
      assertEquals(Termination.NORMAL, r.termination(), r.toString());
      assertEquals(9, r.bytesToBackend());
      assertEquals(3, r.bytesToClient());
    }
  }

  /**
   * The backend's bytes and FIN reach the proxy while the client reads nothing (small socket
   * buffers on the client's side: most of the bytes wait in the proxy's queue), then the client's
   * FIN comes before the proxy could pass the backend's FIN on: every byte still arrives before the
   * FIN, the client's last bytes reach the backend, and the connection ended normally.
   * (Half-closure may only be turned off once the FIN is out: a close on the client's FIN would
   * drop what waits.)
   */
  @Test
  void relay_clientFinWhileBackendBytesWait_nothingLost() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.BULK_SHUT_THEN_RECORD)) {
      BlockingQueue<ConnectionRecord> ended = endedOn(f);
      TestServer backend = f.servers.get(0);
      try (Socket s = new Socket()) {
        s.setReceiveBufferSize(4096);
        s.connect(f.frontend, TIMEOUT_MS);
        s.setSoTimeout(TIMEOUT_MS);
        awaitState(f, "RELAYING");
        ProxyFrontendHandler h = f.proxy.connectionHandlers().iterator().next();
        h.inbound() // the kernel's autotuning would otherwise take the bytes the proxy holds
            .eventLoop()
            .submit(() -> h.inbound().config().setOption(ChannelOption.SO_SNDBUF, 4096))
            .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        backend.release.countDown();
        assertEquals("fin", backend.closes.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        awaitState(f, "BACKEND_SHUT"); // the proxy has read the backend's FIN
        s.getOutputStream().write("late\n".getBytes(US_ASCII));
        s.shutdownOutput();
        byte[] got = s.getInputStream().readAllBytes();
        assertEquals(TestServer.BULK, got.length, "bytes the client received before the FIN");
        for (int i = 0; i < got.length; i++) {
          assertEquals(TestServer.pattern(i), got[i], "byte " + i);
        }
        byte[] late = backend.recorded.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertNotNull(late, "the backend never saw the client's FIN");
        assertEquals("late\n", new String(late, US_ASCII));
      }
      ConnectionRecord r = next(ended);
      assertEquals(Termination.NORMAL, r.termination(), r.toString());
      assertEquals(TestServer.BULK, r.bytesToClient());
      assertEquals(5, r.bytesToBackend());
    }
  }

  /** Waits (bounded) until the proxy's one connection is in {@code state}, read on its loop. */
  private static void awaitState(ProxyFixture f, String state) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
    String now = null;
    while (System.nanoTime() < deadline) {
      java.util.Iterator<ProxyFrontendHandler> it = f.proxy.connectionHandlers().iterator();
      if (it.hasNext()) {
        ProxyFrontendHandler h = it.next();
        now = h.inbound().eventLoop().submit(h::stateName).get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        if (state.equals(now)) {
          return;
        }
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    throw new AssertionError("the connection never reached " + state + " (last " + now + ")");
  }

  /**
   * The other order: the backend's FIN first, passed to the client, whose bytes still reach the
   * backend, then the client's FIN. Since issue 17 the second FIN closes the channel instead of
   * shutting its input down; the connection still ended normally, on every transport.
   */
  @Test
  void relay_backendFinFirst_clientStillSends_thenNormal() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.GREET_SHUT_THEN_RECORD)) {
      BlockingQueue<ConnectionRecord> ended = endedOn(f);
      TestServer backend = f.servers.get(0);
      try (Socket s = client(f.frontend)) {
        assertEquals(backend.id, readLine(s.getInputStream()));
        assertEquals(-1, s.getInputStream().read()); // the backend's FIN, passed on
        s.getOutputStream().write("after\n".getBytes(US_ASCII));
        s.shutdownOutput(); // the second FIN
        byte[] got = backend.recorded.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertNotNull(got, "the backend never saw the client's FIN");
        assertEquals("after\n", new String(got, US_ASCII));
      }
      ConnectionRecord r = next(ended);
      assertEquals(Termination.NORMAL, r.termination(), r.toString());
      assertEquals(6, r.bytesToBackend());
      assertEquals(backend.id.length() + 1, r.bytesToClient());
      assertNull(r.detail());
    }
  }

  @Test
  void idleTimeout_withoutReset_closesQuietly() throws Exception {
    try (ProxyFixture f =
            new ProxyFixture(
                1,
                TestServer.Mode.ECHO,
                r -> r.idleTimeout(Duration.ofMillis(300)),
                c -> c,
                p -> p);
        Socket s = client(f.frontend)) {
      long start = System.nanoTime();
      assertEquals(-1, s.getInputStream().read(), "expected end of stream (FIN)");
      assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(250));
      assertEquals(1, f.proxy.ruleCounters("app").idleTimeouts());
      assertEquals(0, f.proxy.ruleCounters("app").resets());
    }
  }

  @Test
  void idleTimeout_withTcpReset_resetsTheClient() throws Exception {
    try (ProxyFixture f =
            new ProxyFixture(
                1,
                TestServer.Mode.ECHO,
                r -> r.idleTimeout(Duration.ofMillis(300)).tcpReset(true),
                c -> c,
                p -> p);
        Socket s = client(f.frontend)) {
      SocketException e = assertThrows(SocketException.class, () -> s.getInputStream().read());
      assertTrue(e.getMessage().contains("reset"), e.getMessage());
      assertEquals(1, f.proxy.ruleCounters("app").resets());
      String backendSide = f.servers.get(0).closes.poll(5, TimeUnit.SECONDS);
      assertTrue(backendSide.contains("reset"), "backend side: " + backendSide);
    }
  }

  @Test
  void proxyProtocolV1_sentToBackend_exactlyPerSpecification() throws Exception {
    try (ProxyFixture f =
            new ProxyFixture(
                1,
                TestServer.Mode.RECORD,
                r -> r,
                c -> c,
                p ->
                    p.ruleOptions("app", RuleOptions.DEFAULT.withProxyProtocol(ProxyProtocol.V1)));
        Socket s = client(f.frontend, "127.0.0.9")) {
      s.getOutputStream().write("END".getBytes(US_ASCII));
      assertEquals("ok", readLine(s.getInputStream()));
      String expected =
          "PROXY TCP4 127.0.0.9 127.0.0.1 "
              + s.getLocalPort()
              + " "
              + f.frontend.getPort()
              + "\r\nEND";
      assertEquals(
          expected, new String(f.servers.get(0).recorded.poll(5, TimeUnit.SECONDS), US_ASCII));
    }
  }

  @Test
  void proxyProtocolV2_sentToBackend_exactlyPerSpecification() throws Exception {
    try (ProxyFixture f =
            new ProxyFixture(
                1,
                TestServer.Mode.RECORD,
                r -> r,
                c -> c,
                p ->
                    p.ruleOptions("app", RuleOptions.DEFAULT.withProxyProtocol(ProxyProtocol.V2)));
        Socket s = client(f.frontend, "127.0.0.9")) {
      s.getOutputStream().write("END".getBytes(US_ASCII));
      assertEquals("ok", readLine(s.getInputStream()));
      ByteBuffer expected = ByteBuffer.allocate(28 + 3);
      // signature, version 2 + PROXY, TCP over IPv4, length 12, addresses, ports (spec 2.2)
      expected.put(
          new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
      expected.put((byte) 0x21).put((byte) 0x11).putShort((short) 12);
      expected.put(new byte[] {127, 0, 0, 9}).put(new byte[] {127, 0, 0, 1});
      expected.putShort((short) s.getLocalPort()).putShort((short) f.frontend.getPort());
      expected.put("END".getBytes(US_ASCII));
      assertArrayEquals(expected.array(), f.servers.get(0).recorded.poll(5, TimeUnit.SECONDS));
    }
  }

  @Test
  void acceptProxyProtocol_upstreamHeader_setsTheClientAddress() throws Exception {
    try (ProxyFixture f =
        new ProxyFixture(
            1,
            TestServer.Mode.RECORD,
            r -> r,
            c -> c,
            p ->
                p.frontendOptions("fe", new FrontendOptions(true, 0, List.of(), List.of()))
                    .ruleOptions("app", RuleOptions.DEFAULT.withProxyProtocol(ProxyProtocol.V1)))) {
      try (Socket s = client(f.frontend)) {
        s.getOutputStream()
            .write("PROXY TCP4 127.0.0.77 127.0.0.1 5555 80\r\nEND".getBytes(US_ASCII));
        assertEquals("ok", readLine(s.getInputStream()));
      }
      assertEquals(
          "PROXY TCP4 127.0.0.77 127.0.0.1 5555 80\r\nEND",
          new String(f.servers.get(0).recorded.poll(5, TimeUnit.SECONDS), US_ASCII));
      // a malformed header closes that connection only, and is counted
      try (Socket bad = client(f.frontend)) {
        bad.getOutputStream().write("GARBAGE GARBAGE GARBAGE\r\n".getBytes(US_ASCII));
        assertEquals(-1, bad.getInputStream().read());
      }
      // Netty's decoder closes the socket before the refusal is counted: wait for it, bounded
      awaitCount(() -> f.proxy.frontendCounters("fe").refusals(), 1);
      assertEquals(1, f.proxy.frontendCounters("fe").proxyHeaderErrors());
      assertEquals(1, f.proxy.ruleCounters("app").proxyHeaderErrors());
      try (Socket s = client(f.frontend)) {
        s.getOutputStream()
            .write("PROXY TCP4 127.0.0.78 127.0.0.1 5556 80\r\nEND".getBytes(US_ASCII));
        assertEquals("ok", readLine(s.getInputStream()));
      }
    }
  }

  @Test
  void acceptProxyProtocol_v2HeaderDataAndFinInOneWrite_allArriveInOrder() throws Exception {
    try (ProxyFixture f =
            new ProxyFixture(
                1,
                TestServer.Mode.RECORD,
                r -> r,
                c -> c,
                p ->
                    p.frontendOptions("fe", new FrontendOptions(true, 0, List.of(), List.of()))
                        .ruleOptions(
                            "app", RuleOptions.DEFAULT.withProxyProtocol(ProxyProtocol.V1)));
        Socket s = client(f.frontend)) {
      ByteBuffer header = ByteBuffer.allocate(28 + 9);
      header.put(
          new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
      header.put((byte) 0x21).put((byte) 0x11).putShort((short) 12);
      header.put(new byte[] {127, 9, 8, 7}).put(new byte[] {127, 0, 0, 1});
      header.putShort((short) 6000).putShort((short) 443);
      header.put("hello END".getBytes(US_ASCII));
      s.getOutputStream().write(header.array());
      s.shutdownOutput(); // the FIN right behind: it must not overtake the bytes
      assertEquals("ok", readLine(s.getInputStream()));
      assertEquals(
          "PROXY TCP4 127.9.8.7 127.0.0.1 6000 443\r\nhello END",
          new String(f.servers.get(0).recorded.poll(5, TimeUnit.SECONDS), US_ASCII));
      assertEquals(0, f.proxy.frontendCounters("fe").proxyHeaderErrors());
    }
  }

  @Test
  void natRule_reachesTheNamedBackendPort() throws Exception {
    int natPort = TestServer.freePort(ProxyFixture.FRONTEND_HOST);
    TestServer ssh = new TestServer("ssh", "127.0.0.3", TestServer.Mode.GREET_THEN_ECHO);
    try (ssh;
        ProxyFixture f =
            new ProxyFixture(
                2,
                TestServer.Mode.GREET_THEN_ECHO,
                r -> r,
                c ->
                    c.natRule(
                        InboundNatRule.builder("ssh-web-1")
                            .frontend("fe")
                            .frontendPort(natPort)
                            .backendPool("web")
                            .backend("web-1")
                            .backendPort(ssh.address.getPort())
                            .build()),
                p -> p);
        Socket s = client(new InetSocketAddress(ProxyFixture.FRONTEND_HOST, natPort))) {
      // web-1 is 127.0.0.3; the NAT rule's port is where "ssh" listens on that address
      assertEquals("ssh", readLine(s.getInputStream()));
      assertEquals(1, f.proxy.ruleCounters("ssh-web-1").totalConnections());
    }
  }

  @Test
  void frontendLimits_denyListAndMaxConnections_refuseAndCount() throws Exception {
    try (ProxyFixture f =
        new ProxyFixture(
            1,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r,
            c -> c,
            p ->
                p.frontendOptions(
                    "fe",
                    new FrontendOptions(
                        false, 2, List.of(), List.of(Cidr.parse("127.0.0.66/32")))))) {
      try (Socket denied = client(f.frontend, "127.0.0.66")) {
        assertEquals(-1, denied.getInputStream().read());
      }
      try (Socket a = client(f.frontend);
          Socket b = client(f.frontend)) {
        assertEquals("web-0", readLine(a.getInputStream()));
        assertEquals("web-0", readLine(b.getInputStream()));
        try (Socket third = client(f.frontend)) {
          assertEquals(-1, third.getInputStream().read(), "over maxConnections 2");
        }
      }
      assertEquals(2, f.proxy.frontendCounters("fe").refusals());
    }
  }

  @Test
  void start_floatingIp_isRefusedWithExplanation() throws Exception {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                new ProxyFixture(1, TestServer.Mode.ECHO, r -> r.floatingIp(true), c -> c, p -> p));
    assertTrue(
        e.getMessage()
            .startsWith(
                "rule 'app': floatingIp: true (expected: false;"
                    + " floating IP, or direct server return, needs the kernel"),
        e.getMessage());
  }

  @Test
  void hairpin_backendReachingItsOwnPool_worksAndIsCounted() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(2, TestServer.Mode.GREET_THEN_ECHO);
        Socket s = client(f.frontend, "127.0.0.2")) { // 127.0.0.2 is web-0
      String id = readLine(s.getInputStream());
      assertTrue(id.startsWith("web-"), id);
      assertEquals(1, f.proxy.ruleCounters("app").hairpinConnections());
    }
  }

  @Test
  void distributionModes_overTheWire_spreadOrStick() throws Exception {
    try (ProxyFixture five = ProxyFixture.of(3, TestServer.Mode.GREET_THEN_ECHO)) {
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < 30; i++) {
        try (Socket s = client(five.frontend, "127.0.0.50")) {
          seen.add(readLine(s.getInputStream()));
        }
      }
      assertEquals(3, seen.size(), "FIVE_TUPLE over 30 source ports: " + seen);
    }
    try (ProxyFixture sticky =
        new ProxyFixture(
            3,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r.distributionMode(DistributionMode.SOURCE_IP),
            c -> c,
            p -> p)) {
      Map<String, Set<String>> bySource = new HashMap<>();
      for (int i = 0; i < 40; i++) {
        String src = "127.0.0." + (50 + i % 4);
        try (Socket s = client(sticky.frontend, src)) {
          bySource.computeIfAbsent(src, k -> new HashSet<>()).add(readLine(s.getInputStream()));
        }
      }
      for (Map.Entry<String, Set<String>> e : bySource.entrySet()) {
        assertEquals(1, e.getValue().size(), "SOURCE_IP moved " + e.getKey() + ": " + e);
      }
    }
  }

  @Test
  void failover_backendDiesUnderLoad_noClientFailsOrHangs() throws Exception {
    try (ProxyFixture f =
        new ProxyFixture(
            3,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r.probe("tcp").outlierDetection(OutlierDetection.DEFAULT),
            c ->
                c.probe(
                    HealthProbe.builder("tcp")
                        .interval(Duration.ofMillis(200))
                        .timeout(Duration.ofMillis(150))
                        .healthyThreshold(1)
                        .unhealthyThreshold(1)
                        .initialState(io.lb4j.HealthState.HEALTHY)
                        .build()),
            p -> p)) {
      int clients = 300;
      int killAt = 60;
      Set<String> afterWindow = new HashSet<>();
      long killedAt = 0;
      for (int i = 0; i < clients; i++) {
        if (i == killAt) {
          f.servers.get(1).kill(); // web-1 dies: nothing listens any more
          killedAt = System.nanoTime();
        }
        try (Socket s = client(f.frontend, "127.0.0." + (60 + i % 20))) {
          String id = readLine(s.getInputStream());
          assertTrue(id.startsWith("web-"), "client " + i + " got '" + id + "'");
          s.getOutputStream().write("ping\n".getBytes(US_ASCII));
          assertEquals("ping", readLine(s.getInputStream()), "client " + i);
          if (killedAt != 0 && System.nanoTime() - killedAt > TimeUnit.MILLISECONDS.toNanos(600)) {
            afterWindow.add(id);
          }
        }
      }
      assertTrue(!afterWindow.contains("web-1"), "web-1 still chosen after the probe window");
      assertEquals(io.lb4j.HealthState.UNHEALTHY, f.lb.health("app", "web-1").state());
      assertEquals(clients, f.proxy.ruleCounters("app").totalConnections());
    }
  }

  @Test
  void connectRetry_deadBackendInPool_everyClientServedAndBackendEjected() throws Exception {
    // no probe: only connect retry and passive health stand between clients and the dead backend
    java.net.InetSocketAddress dead;
    try (java.net.ServerSocket ss =
        new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.0.9"))) {
      dead = new InetSocketAddress(ss.getInetAddress(), ss.getLocalPort());
    }
    java.net.InetSocketAddress deadAddress = dead;
    try (ProxyFixture f =
        new ProxyFixture(
            2,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r,
            c -> {
              io.lb4j.LoadBalancerConfig built = c.build();
              io.lb4j.BackendPool pool =
                  built
                      .pool("web")
                      .withBackend(io.lb4j.Backend.of("dead", "127.0.0.9", deadAddress.getPort()));
              io.lb4j.LoadBalancerConfig.Builder b = built.withPool(pool).toBuilder();
              return b;
            },
            p -> p)) {
      for (int i = 0; i < 60; i++) {
        try (Socket s = client(f.frontend, "127.0.0." + (100 + i))) {
          String id = readLine(s.getInputStream());
          assertTrue(id.startsWith("web-"), "client " + i + " got '" + id + "'");
        }
      }
      Counters.Snapshot dd = f.proxy.backendSnapshot("app", "dead");
      assertTrue(dd.connectFailures() >= 5, "connect failures on the dead backend: " + dd);
      assertEquals(0, dd.totalConnections());
      assertTrue(f.lb.health("app", "dead").isEjected(), "5 refused connects eject it");
      assertEquals(60, f.proxy.ruleCounters("app").totalConnections());
    }
  }

  @Test
  void unhealthyDrainTimeout_closesTheProxiedConnections() throws Exception {
    try (ProxyFixture f =
            new ProxyFixture(
                1,
                TestServer.Mode.GREET_THEN_ECHO,
                r ->
                    r.unhealthyFlowPolicy(io.lb4j.UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
                        .drainTimeout(Duration.ofMillis(300)),
                c -> c,
                p -> p);
        Socket s = client(f.frontend)) {
      assertEquals("web-0", readLine(s.getInputStream()));
      long start = System.nanoTime();
      f.lb.setHealthOverride("web", "web-0", io.lb4j.HealthOverride.FORCE_DOWN);
      assertEquals(-1, s.getInputStream().read(), "the drain deadline closes the connection");
      assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(250));
    }
  }
}

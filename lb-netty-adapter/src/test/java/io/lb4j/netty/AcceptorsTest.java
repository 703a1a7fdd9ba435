package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.core.L4LoadBalancer;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One listening socket per event loop with {@code SO_REUSEPORT}, on every transport, over real
 * sockets on 127.0.0.0/8: new connections are accepted by both loops of a two-thread proxy and stay
 * on the loop that accepted them; reload and shutdown bind and close every socket; a held port
 * fails as with one socket; the frontend's limit is one for all the sockets.
 */
class AcceptorsTest {
  private static final String HOST = "127.0.0.1";

  /** Connections opened to see both sockets take some: all on one of two is 2^-63 likely. */
  private static final int CONNECTIONS = 64;

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void start_twoIoThreads_everyLoopAcceptsAndKeepsItsConnections(Transport t) throws Exception {
    ProxyFixture.requireTransport(t);
    try (ProxyFixture f =
        new ProxyFixture(1, TestServer.Mode.GREET_THEN_ECHO, r -> r, c -> c, p -> p.transport(t))) {
      assertEquals(2, f.proxy.acceptorsPerListener());
      List<Channel> servers = f.proxy.serverChannels("app");
      assertEquals(2, servers.size());
      assertNotEquals(servers.get(0).eventLoop(), servers.get(1).eventLoop());
      for (Channel s : servers) {
        assertTrue(s.isActive(), s + " listens");
        assertEquals(Boolean.TRUE, s.config().getOption(t.reusePort()), s + " has SO_REUSEPORT");
        assertEquals(f.frontend, s.localAddress());
      }
      List<Queue<Channel>> accepted = recordAccepts(servers);

      for (int i = 0; i < CONNECTIONS; i++) {
        try (Socket c = client(f.frontend)) {
          assertEquals("web-0", TestServer.readLine(c.getInputStream()), "connection " + i);
        }
      }

      awaitCount(() -> accepted.get(0).size() + accepted.get(1).size(), CONNECTIONS);
      for (int i = 0; i < servers.size(); i++) {
        Channel server = servers.get(i);
        assertFalse(
            accepted.get(i).isEmpty(),
            "the socket on " + server.eventLoop() + " accepted none of " + CONNECTIONS);
        for (Channel child : accepted.get(i)) {
          assertSame(server, child.parent());
          assertSame(
              server.eventLoop(), child.eventLoop(), "a connection left its acceptor's loop");
        }
      }
      assertEquals(CONNECTIONS, f.proxy.frontendCounters("fe").totalConnections());
    }
  }

  @Test
  void start_reusePortOff_oneSocketHandsConnectionsToBothLoopsInTurn() throws Exception {
    try (ProxyFixture f =
        new ProxyFixture(
            1, TestServer.Mode.GREET_THEN_ECHO, r -> r, c -> c, p -> p.reusePort(false))) {
      assertEquals(1, f.proxy.acceptorsPerListener());
      List<Channel> servers = f.proxy.serverChannels("app");
      assertEquals(1, servers.size());
      Queue<Channel> accepted = recordAccepts(servers).get(0);
      for (int i = 0; i < 4; i++) {
        try (Socket c = client(f.frontend)) {
          assertEquals("web-0", TestServer.readLine(c.getInputStream()));
        }
      }
      awaitCount(accepted::size, 4);
      Set<EventLoop> loops = new HashSet<>();
      for (Channel child : accepted) {
        loops.add(child.eventLoop());
      }
      assertEquals(2, loops.size(), "one acceptor hands connections to every loop in turn");
    }
  }

  @Test
  void start_oneIoThread_oneSocket() throws Exception {
    try (ProxyFixture f =
        new ProxyFixture(1, TestServer.Mode.GREET_THEN_ECHO, r -> r, c -> c, p -> p.ioThreads(1))) {
      assertEquals(1, f.proxy.acceptorsPerListener());
      assertEquals(1, f.proxy.serverChannels("app").size());
      try (Socket c = client(f.frontend)) {
        assertEquals("web-0", TestServer.readLine(c.getInputStream()));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void reload_addsThenRemovesARule_bindsAndClosesEverySocket(Transport t) throws Exception {
    ProxyFixture.requireTransport(t);
    try (ProxyFixture f =
        new ProxyFixture(1, TestServer.Mode.GREET_THEN_ECHO, r -> r, c -> c, p -> p.transport(t))) {
      LoadBalancerConfig before = f.lb.config();
      int port = TestServer.freePort(HOST);
      InetSocketAddress extra = new InetSocketAddress(HOST, port);
      f.proxy.reload(
          before.withRule(
              LoadBalancingRule.builder("extra")
                  .frontend("fe")
                  .frontendPort(port)
                  .backendPool("web")
                  .build()),
          Map.of(),
          Map.of());
      List<Channel> added = f.proxy.serverChannels("extra");
      assertEquals(2, added.size());
      assertNotEquals(added.get(0).eventLoop(), added.get(1).eventLoop());
      List<Queue<Channel>> accepted = recordAccepts(added);
      for (int i = 0; i < CONNECTIONS; i++) {
        try (Socket c = client(extra)) {
          assertEquals("web-0", TestServer.readLine(c.getInputStream()), "connection " + i);
        }
      }
      awaitCount(() -> accepted.get(0).size() + accepted.get(1).size(), CONNECTIONS);
      assertFalse(accepted.get(0).isEmpty(), "the first socket of the new rule accepted none");
      assertFalse(accepted.get(1).isEmpty(), "the second socket of the new rule accepted none");

      f.proxy.reload(before, Map.of(), Map.of());

      assertEquals(List.of(), f.proxy.serverChannels("extra"));
      for (Channel s : added) {
        assertFalse(s.isOpen(), s + " is still open after its rule left");
      }
      awaitNoListener(extra);
      assertThrows(ConnectException.class, () -> client(extra).close());
      try (Socket c = client(f.frontend)) {
        assertEquals("web-0", TestServer.readLine(c.getInputStream()), "the kept rule serves");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void stopAccepting_twoIoThreads_everySocketClosedEstablishedGoesOn(Transport t) throws Exception {
    ProxyFixture.requireTransport(t);
    try (ProxyFixture f =
        new ProxyFixture(1, TestServer.Mode.GREET_THEN_ECHO, r -> r, c -> c, p -> p.transport(t))) {
      List<Channel> servers = f.proxy.serverChannels("app");
      assertEquals(2, servers.size());
      try (Socket established = client(f.frontend)) {
        assertEquals("web-0", TestServer.readLine(established.getInputStream()));

        f.proxy.stopAccepting();

        for (Channel s : servers) {
          assertFalse(s.isOpen(), s + " still accepts");
        }
        assertEquals(Map.of(), f.proxy.listeners());
        awaitNoListener(f.frontend);
        for (int i = 0; i < CONNECTIONS; i++) {
          assertThrows(ConnectException.class, () -> client(f.frontend).close(), "connection " + i);
        }
        established.getOutputStream().write("still\n".getBytes(US_ASCII));
        assertEquals("still", TestServer.readLine(established.getInputStream()));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void start_portHeldBySocketWithoutReusePort_failsNamingRuleAndAddress(Transport t)
      throws Exception {
    ProxyFixture.requireTransport(t);
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      assertStartFails(t, taken.getLocalPort());
    }
  }

  /**
   * A listener of the same user with {@code SO_REUSEPORT} — another lb4j started on the same file,
   * say — would let the proxy's sockets join its group and share its connections unseen: the proxy
   * refuses the port instead, as it does a port held without the option.
   */
  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void start_portHeldBySocketWithReusePort_failsNamingRuleAndAddress(Transport t) throws Exception {
    ProxyFixture.requireTransport(t);
    try (ServerSocketChannel taken = ServerSocketChannel.open()) {
      taken.setOption(StandardSocketOptions.SO_REUSEPORT, true);
      taken.bind(new InetSocketAddress(HOST, 0));
      assertStartFails(t, ((InetSocketAddress) taken.getLocalAddress()).getPort());
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void bind_portZero_everySocketOnThePortTheKernelChose(Transport t) throws Exception {
    ProxyFixture.requireTransport(t);
    Transport resolved = t.resolve();
    EventLoopGroup group = resolved.newGroup(2, "acceptors-test");
    try {
      Acceptors a =
          Acceptors.bind(
              "zero",
              new InetSocketAddress(HOST, 0),
              resolved,
              group,
              resolved.reusePort(),
              new Greeter());
      try {
        int port = a.localAddress().getPort();
        assertNotEquals(0, port);
        assertEquals(2, a.channels().size());
        for (Channel c : a.channels()) {
          assertEquals(new InetSocketAddress(HOST, port), c.localAddress());
        }
        for (int i = 0; i < 8; i++) {
          try (Socket c = client(a.localAddress())) {
            assertEquals("hi", TestServer.readLine(c.getInputStream()));
          }
        }
      } finally {
        a.close();
      }
      for (Channel c : a.channels()) {
        assertFalse(c.isOpen());
      }
    } finally {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /**
   * What docs/proxy.md says of {@code SO_REUSEPORT}: once the proxy listens, a socket without the
   * option cannot bind its port, and one of the same user with it can, joining the group.
   */
  @Test
  void bind_afterTheProxy_plainSocketRefusedSameUserReusePortSocketJoins() throws Exception {
    Transport t = Transport.AUTO.resolve();
    EventLoopGroup group = t.newGroup(2, "acceptors-test");
    try {
      Acceptors a =
          Acceptors.bind(
              "joined", new InetSocketAddress(HOST, 0), t, group, t.reusePort(), new Greeter());
      try {
        try (ServerSocket plain = new ServerSocket()) {
          plain.setReuseAddress(true);
          assertThrows(BindException.class, () -> plain.bind(a.localAddress()));
        }
        try (ServerSocketChannel joiner = ServerSocketChannel.open()) {
          joiner.setOption(StandardSocketOptions.SO_REUSEPORT, true);
          joiner.bind(a.localAddress()); // the kernel only refuses another user
          assertEquals(a.localAddress(), joiner.getLocalAddress());
        }
      } finally {
        a.close();
      }
    } finally {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /**
   * The frontend's connection limit counts the connections of every socket: with a limit of 3 and
   * connections accepted by both loops, 3 are served and the rest refused (per-socket counters
   * would serve up to 6).
   */
  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void frontendLimit_twoSockets_oneLimitForBoth(Transport t) throws Exception {
    ProxyFixture.requireTransport(t);
    int limit = 3;
    try (ProxyFixture f =
        new ProxyFixture(
            1,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r,
            c -> c,
            p ->
                p.transport(t)
                    .frontendOptions(
                        "fe", new FrontendOptions(false, limit, List.of(), List.of())))) {
      List<Channel> servers = f.proxy.serverChannels("app");
      List<Queue<Channel>> accepted = recordAccepts(servers);
      List<Socket> open = new ArrayList<>();
      int served = 0;
      try {
        for (int i = 0; i < CONNECTIONS; i++) {
          Socket c = client(f.frontend);
          open.add(c);
          int first = c.getInputStream().read(); // 'w' of "web-0", or the end: refused
          if (first >= 0) {
            served++;
          }
        }
      } finally {
        for (Socket c : open) {
          c.close();
        }
      }
      assertEquals(limit, served);
      awaitCount(() -> accepted.get(0).size() + accepted.get(1).size(), CONNECTIONS);
      assertFalse(accepted.get(0).isEmpty(), "the first socket accepted none");
      assertFalse(accepted.get(1).isEmpty(), "the second socket accepted none");
      assertEquals(CONNECTIONS - limit, f.proxy.frontendCounters("fe").refusals());
    }
  }

  // ------------------------------------------------------------------------------ helpers

  private static void assertStartFails(Transport t, int port) throws IOException {
    try (TestServer backend = new TestServer("web-0", "127.0.0.2", TestServer.Mode.ECHO);
        L4LoadBalancer lb =
            L4LoadBalancer.builder().config(ProxyFixture.oneRule(port, backend).build()).build()) {
      NettyL4Proxy proxy =
          NettyL4Proxy.builder().loadBalancer(lb).ioThreads(2).transport(t).build();
      try {
        assertEquals(2, proxy.acceptorsPerListener());
        IllegalStateException e = assertThrows(IllegalStateException.class, proxy::start);
        assertEquals(
            "rule 'app': cannot listen on 127.0.0.1:" + port + ": Address already in use",
            e.getMessage());
        assertEquals(Map.of(), proxy.listeners());
      } finally {
        proxy.close();
      }
    }
  }

  /**
   * Records, per listening channel, the connections it accepts from now on: the recorder is added
   * on the channel's loop, since a handler added from another thread is skipped until the loop has
   * run its {@code handlerAdded}.
   */
  private static List<Queue<Channel>> recordAccepts(List<Channel> servers) {
    List<Queue<Channel>> out = new ArrayList<>();
    for (Channel s : servers) {
      Queue<Channel> q = new ConcurrentLinkedQueue<>();
      ChannelHandler recorder =
          new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
              q.add((Channel) msg); // a server channel reads accepted channels
              ctx.fireChannelRead(msg);
            }
          };
      s.eventLoop()
          .submit(() -> s.pipeline().addFirst("accept-recorder", recorder))
          .syncUninterruptibly();
      out.add(q);
    }
    return out;
  }

  /** Waits until no socket listens on {@code address}: a plain socket binds it (5 s at most). */
  private static void awaitNoListener(InetSocketAddress address) throws IOException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (true) {
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(true);
        s.bind(address);
        return;
      } catch (BindException stillListening) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(address + " still has a listener 5 s after the close");
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
      }
    }
  }

  private static void awaitCount(IntSupplier counter, int expected) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (counter.getAsInt() < expected && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    assertEquals(expected, counter.getAsInt());
  }

  private static Socket client(InetSocketAddress to) throws IOException {
    Socket s = new Socket();
    try {
      s.setSoTimeout(10_000);
      s.connect(to, 10_000);
      return s;
    } catch (IOException e) {
      s.close();
      throw e;
    }
  }

  /** Writes "hi\n" to every accepted connection and closes it. */
  @ChannelHandler.Sharable
  private static final class Greeter extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.writeAndFlush(Unpooled.copiedBuffer("hi\n", US_ASCII))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }
}

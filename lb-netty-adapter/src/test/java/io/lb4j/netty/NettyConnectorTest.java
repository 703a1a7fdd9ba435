package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.Lease;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.OutlierDetection;
import io.lb4j.SelectionPolicy;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.core.L4LoadBalancer;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Future;
import java.net.ConnectException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Netty connector against real loopback servers. */
class NettyConnectorTest {
  private final List<AutoCloseable> open = new ArrayList<>();
  private final BlockingQueue<String> greetings = new LinkedBlockingQueue<>();
  private EventLoopGroup group;
  private Bootstrap bootstrap;
  private L4LoadBalancer lb;

  @BeforeEach
  void start() {
    group = Transport.NIO.newGroup(1, "connector-test");
    bootstrap =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(
                            new SimpleChannelInboundHandler<ByteBuf>() {
                              @Override
                              protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                                greetings.add(msg.toString(StandardCharsets.US_ASCII).trim());
                              }
                            });
                  }
                });
  }

  @AfterEach
  void stop() throws Exception {
    if (lb != null) {
      lb.close();
    }
    for (AutoCloseable c : open) {
      c.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private TestServer server(String id, String host) throws Exception {
    TestServer s = new TestServer(id, host, TestServer.Mode.GREET_THEN_ECHO);
    open.add(s);
    return s;
  }

  private void balancer(OutlierDetection od, Backend... backends) {
    lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("svc", "127.0.0.1"))
                    .pool(BackendPool.of("app", backends))
                    .rule(
                        LoadBalancingRule.builder("app")
                            .frontend("svc")
                            .frontendPort(7000)
                            .backendPool("app")
                            .backendPort(7000)
                            .selection(SelectionPolicy.maglev())
                            .outlierDetection(od)
                            .build())
                    .build())
            .build();
  }

  private static Backend backendOf(TestServer s) {
    return Backend.of(s.id, s.address.getAddress().getHostAddress(), s.address.getPort());
  }

  private static Channel await(Future<Channel> f) {
    assertTrue(f.awaitUninterruptibly(10, TimeUnit.SECONDS), "connect within 10 s");
    assertTrue(f.isSuccess(), () -> String.valueOf(f.cause()));
    return f.getNow();
  }

  private String greeting() throws InterruptedException {
    String g = greetings.poll(10, TimeUnit.SECONDS);
    assertNotNull(g, "a greeting within 10 s");
    return g;
  }

  @Test
  void connect_byKey_reachesTheKeysBackend_andCloseEndsTheLease() throws Exception {
    balancer(
        OutlierDetection.DEFAULT,
        backendOf(server("a", "127.0.0.2")),
        backendOf(server("b", "127.0.0.3")),
        backendOf(server("c", "127.0.0.4")));
    NettyConnector c = NettyConnector.of(BalancedConnector.builder(lb, "app").build());
    for (String key : List.of("user-1", "user-2", "user-3")) {
      String expected = lb.pickByKey("app", key).backend().id();
      Channel ch = await(c.connect(bootstrap, key));
      assertEquals(expected, greeting());
      Lease lease = NettyConnector.lease(ch);
      assertEquals(expected, lease.backend().id());
      assertEquals(1, lb.activeFlows("app", expected));
      ch.close().syncUninterruptibly();
      assertFalse(lease.isActive(), "the channel's close ended the lease");
      assertEquals(0, lb.activeFlows("app", expected));
    }
  }

  @Test
  void connect_refusedBackend_retriesAnother() throws Exception {
    int refused = TestServer.freePort("127.0.0.2");
    balancer(
        OutlierDetection.DEFAULT,
        Backend.of("down", "127.0.0.2", refused),
        backendOf(server("b", "127.0.0.3")));
    NettyConnector c = NettyConnector.of(BalancedConnector.builder(lb, "app").build());
    String key = null;
    for (int k = 0; key == null && k < 1000; k++) {
      if (lb.pickByKey("app", "k" + k).backend().id().equals("down")) {
        key = "k" + k;
      }
    }
    Channel ch = await(c.connect(bootstrap, key));
    assertEquals("b", greeting());
    assertEquals("b", NettyConnector.lease(ch).backend().id());
    assertEquals(1, lb.health("app", "down").consecutiveConnectFailures());
    ch.close().syncUninterruptibly();
  }

  @Test
  void connect_everyBackendRefuses_failsNamingThem() throws Exception {
    balancer(
        OutlierDetection.DISABLED,
        Backend.of("a", "127.0.0.2", TestServer.freePort("127.0.0.2")),
        Backend.of("b", "127.0.0.3", TestServer.freePort("127.0.0.3")));
    NettyConnector c = NettyConnector.of(BalancedConnector.builder(lb, "app").build());
    Future<Channel> f = c.connect(bootstrap);
    assertTrue(f.awaitUninterruptibly(10, TimeUnit.SECONDS));
    ConnectException e = assertInstanceOf(ConnectException.class, f.cause());
    assertTrue(
        e.getMessage().startsWith("app: no backend left to try after 2 attempts; "),
        e.getMessage());
    assertTrue(e.getMessage().contains("a 127.0.0.2:"), e.getMessage());
    assertEquals(0, lb.activeFlows("app", "a") + lb.activeFlows("app", "b"));
  }

  @Test
  void backendDisabled_closesTheChannel() throws Exception {
    balancer(OutlierDetection.DEFAULT, backendOf(server("a", "127.0.0.2")));
    NettyConnector c = NettyConnector.of(BalancedConnector.builder(lb, "app").build());
    Channel ch = await(c.connect(bootstrap, 7L));
    assertEquals("a", greeting());
    lb.setAdminState("app", "a", AdminState.DISABLED);
    assertTrue(ch.closeFuture().awaitUninterruptibly(10, TimeUnit.SECONDS));
    assertEquals("backend DISABLED", NettyConnector.lease(ch).endReason());
    assertEquals(0, lb.activeFlows("app", "a"));
  }

  @Test
  void bindLocalAddress_leasesTheRealFlow_andRetriesOnANewOne() throws Exception {
    balancer(
        OutlierDetection.DISABLED,
        Backend.of("down", "127.0.0.2", TestServer.freePort("127.0.0.2")),
        backendOf(server("b", "127.0.0.3")));
    NettyConnector c =
        NettyConnector.of(
            BalancedConnector.builder(lb, "app")
                .bindLocalAddress(InetAddress.getByName("127.0.0.9"))
                .connectTimeout(Duration.ofSeconds(2))
                .build());
    for (int i = 0; i < 6; i++) { // about half pick "down" first and retry
      Channel ch = await(c.connect(bootstrap));
      assertEquals("b", greeting());
      FlowKey flow = NettyConnector.lease(ch).flow();
      assertEquals(InetAddress.getByName("127.0.0.9"), flow.sourceAddress());
      assertTrue(lb.explain(flow).fromFlowTable());
      assertNotEquals("down", lb.explain(flow).selection().backend().id());
      ch.close().syncUninterruptibly();
    }
    assertEquals(0, lb.activeFlows());
  }
}

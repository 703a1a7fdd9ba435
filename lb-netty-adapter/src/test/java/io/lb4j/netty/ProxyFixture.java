package io.lb4j.netty;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.core.L4LoadBalancer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Backends, a balancer and a started proxy on loopback, closed together. Shared with lb-proxy's
 * tests through this module's test-jar, with {@link TestServer} and {@link LeakRecorder}.
 */
public final class ProxyFixture implements AutoCloseable {
  /** The transport of the fixtures made next; a test class of another transport sets it. */
  public static volatile Transport transport = Transport.AUTO;

  public static final String FRONTEND_HOST = "127.0.0.1";

  public final List<TestServer> servers = new ArrayList<>();
  public final L4LoadBalancer lb;
  public final NettyL4Proxy proxy;
  public final InetSocketAddress frontend;

  public ProxyFixture(
      int backends,
      TestServer.Mode mode,
      UnaryOperator<LoadBalancingRule.Builder> rule,
      UnaryOperator<LoadBalancerConfig.Builder> config,
      UnaryOperator<NettyL4Proxy.Builder> proxyOptions)
      throws IOException {
    List<Backend> list = new ArrayList<>();
    for (int i = 0; i < backends; i++) {
      TestServer s = new TestServer("web-" + i, "127.0.0." + (2 + i), mode);
      servers.add(s);
      list.add(Backend.of(s.id, s.address.getAddress().getHostAddress(), s.address.getPort()));
    }
    int port = TestServer.freePort(FRONTEND_HOST);
    frontend = new InetSocketAddress(FRONTEND_HOST, port);
    LoadBalancerConfig.Builder cb = oneRule(port, list, rule);
    lb = L4LoadBalancer.builder().config(config.apply(cb).build()).build();
    proxy =
        proxyOptions
            .apply(NettyL4Proxy.builder().loadBalancer(lb).ioThreads(2).transport(transport))
            .build()
            .start();
  }

  /**
   * The tests' one-rule configuration: frontend "fe" on {@value #FRONTEND_HOST}, pool "web" of
   * {@code backends}, rule "app" on {@code port}, shaped further by {@code rule}.
   */
  public static LoadBalancerConfig.Builder oneRule(
      int port, List<Backend> backends, UnaryOperator<LoadBalancingRule.Builder> rule) {
    return LoadBalancerConfig.builder()
        .frontend(Frontend.of("fe", FRONTEND_HOST))
        .pool(new BackendPool("web", backends))
        .rule(
            rule.apply(
                    LoadBalancingRule.builder("app")
                        .frontend("fe")
                        .frontendPort(port)
                        .backendPool("web"))
                .build());
  }

  /** {@link #oneRule(int, List, UnaryOperator)} with the one backend {@code backend}. */
  public static LoadBalancerConfig.Builder oneRule(int port, TestServer backend) {
    return oneRule(
        port,
        List.of(
            Backend.of(
                backend.id,
                backend.address.getAddress().getHostAddress(),
                backend.address.getPort())),
        r -> r);
  }

  /**
   * Makes sure {@code t} loads here: under CI (the environment variable {@code CI} set, as {@code
   * .ci/run} sets it) a transport that does not load fails the test, since CI's machines have epoll
   * and io_uring; elsewhere the test is skipped with the reason (a kernel or sandbox without
   * io_uring).
   */
  public static void requireTransport(Transport t) {
    try {
      t.resolve();
    } catch (IllegalStateException e) {
      if (System.getenv("CI") != null) {
        throw new AssertionError(
            "transport " + t + " does not load under CI: " + e.getMessage(), e);
      }
      org.junit.jupiter.api.Assumptions.abort(e.getMessage());
    }
  }

  public static ProxyFixture of(int backends, TestServer.Mode mode) throws IOException {
    return new ProxyFixture(backends, mode, r -> r, c -> c, p -> p);
  }

  @Override
  public void close() throws IOException {
    proxy.close();
    lb.close();
    for (TestServer s : servers) {
      s.close();
    }
  }
}

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.netty.NettyL4Proxy;
import io.lb4j.netty.Transport;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * Bytes allocated on the proxy's one event loop per proxied connection (connect, 1-byte ping,
 * close), read from {@code ThreadMXBean.getThreadAllocatedBytes}: what the connection-setup path
 * costs the garbage collector, the balancer's flow table and Netty's channels included. Public API
 * only, so it runs against any build of {@code lb4j-proxy.jar}; a single-file program, run on
 * purpose, not in the build. Loopback only (127.0.0.0/8), one connection at a time.
 *
 * <pre>{@code
 * mvn -B -q -DskipTests package
 * java -cp lb-proxy/target/lb4j-proxy.jar benchmarks/ProxyConnectionAllocations.java \
 *     5000 5000 EPOLL      # warm-up connections, measured connections, transport
 * }</pre>
 */
public class ProxyConnectionAllocations {
  public static void main(String[] args) throws Exception {
    int warm = Integer.parseInt(args[0]);
    int measured = Integer.parseInt(args[1]);
    Transport transport = Transport.valueOf(args.length > 2 ? args[2] : "EPOLL");
    ServerSocket backend = new ServerSocket(0, 512, InetAddress.getByName("127.0.0.2"));
    Thread acceptor =
        new Thread(
            () -> {
              while (true) {
                try {
                  Socket s = backend.accept();
                  InputStream in = s.getInputStream();
                  int b = in.read();
                  if (b >= 0) {
                    s.getOutputStream().write(b);
                  }
                  while (in.read() >= 0) {}
                  s.close();
                } catch (Exception e) {
                  return;
                }
              }
            });
    acceptor.setDaemon(true);
    acceptor.start();
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      port = probe.getLocalPort();
    }
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(
                new BackendPool(
                    "p", List.of(Backend.of("b", "127.0.0.2", backend.getLocalPort()))))
            .rule(
                LoadBalancingRule.builder("r")
                    .frontend("fe")
                    .frontendPort(port)
                    .backendPool("p")
                    .build())
            .build();
    try (L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build();
        NettyL4Proxy proxy =
            NettyL4Proxy.builder().loadBalancer(lb).ioThreads(1).transport(transport).build()
                .start()) {
      InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
      run(to, warm);
      com.sun.management.ThreadMXBean mx =
          (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
      List<Long> ids = new ArrayList<>();
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        if (t.getName().startsWith("lb4j-proxy")) {
          ids.add(t.getId());
        }
      }
      long before = sum(mx, ids);
      run(to, measured);
      long deadline = System.nanoTime() + 5_000_000_000L; // the last closes finish on the loop
      while (proxy.activeConnections() > 0 && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      long after = sum(mx, ids);
      System.out.printf(
          "%s: %d event-loop threads, %d connections, %.0f bytes allocated per connection%n",
          transport, ids.size(), measured, (after - before) / (double) measured);
    }
    backend.close();
  }

  private static long sum(com.sun.management.ThreadMXBean mx, List<Long> ids) {
    long s = 0;
    for (long id : ids) {
      s += mx.getThreadAllocatedBytes(id);
    }
    return s;
  }

  private static void run(InetSocketAddress to, int n) throws Exception {
    for (int i = 0; i < n; i++) {
      try (Socket s = new Socket()) {
        s.bind(new InetSocketAddress("127.0.0." + (10 + i % 200), 0));
        s.connect(to, 5000);
        s.setSoTimeout(5000);
        OutputStream out = s.getOutputStream();
        out.write(1);
        if (s.getInputStream().read() != 1) {
          throw new IllegalStateException("no ping back");
        }
      }
    }
  }
}

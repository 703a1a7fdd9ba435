package io.lb4j.examples;

import com.sun.net.httpserver.HttpServer;
import io.lb4j.AdminState;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowKey;
import io.lb4j.HealthEvent;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerListener;
import io.lb4j.Protocol;
import io.lb4j.proxy.StandaloneProxy;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The standalone proxy on {@code examples/lb4j-demo.yaml} in front of three demo HTTP backends on
 * 127.0.0.2-4:8081: requests spread, one backend dies, the probes take it out, requests go on; then
 * a client on a backend's own address holds a connection (hairpin), its backend is drained, and the
 * demo prints {@code explain} of that flow and the admin endpoint's diagnosis report.
 */
public final class ProxyDemo {
  public static void main(String[] args) throws Exception {
    Path config = Path.of(args.length > 0 ? args[0] : "examples/lb4j-demo.yaml");
    List<HttpServer> backends = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      backends.add(backend("web-" + i, "127.0.0." + (1 + i)));
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    try (StandaloneProxy proxy = StandaloneProxy.start(config)) {
      System.out.println("proxy listening on " + proxy.proxy().listeners());
      System.out.println("admin: http://127.0.0.1:" + proxy.adminAddress().getPort() + "/");
      CountDownLatch down = new CountDownLatch(1);
      proxy
          .proxy()
          .loadBalancer()
          .addListener(
              new LoadBalancerListener() {
                @Override
                public void onHealthChange(HealthEvent e) {
                  System.out.println("  health: " + e);
                  if (e.to() == HealthState.UNHEALTHY) {
                    down.countDown();
                  }
                }
              });
      awaitHealthy(proxy, 10);
      requests(12);

      System.out.println("stopping web-2 ...");
      backends.get(1).stop(0);
      down.await(10, TimeUnit.SECONDS);
      requests(12);

      // A client on web-1's own address (127.0.0.2) holds a connection open: a hairpin. Then the
      // backend it landed on is drained while the connection lives. explain() says where the flow
      // went; the admin endpoint's report (what `lb4j-proxy report` prints) finds all of it.
      LoadBalancer lb = proxy.proxy().loadBalancer();
      try (Socket held = new Socket()) {
        held.bind(new InetSocketAddress("127.0.0.2", 0));
        held.connect(new InetSocketAddress("127.0.0.1", 8080), 5000);
        FlowKey flow =
            FlowKey.of(
                Protocol.TCP,
                (InetSocketAddress) held.getLocalSocketAddress(),
                (InetSocketAddress) held.getRemoteSocketAddress());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!lb.explain(flow).fromFlowTable() && System.nanoTime() < deadline) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // the proxy pins it on accept
        }
        FlowExplanation where = lb.explain(flow);
        System.out.println("explain(" + flow + ") ->\n" + where);
        if (where.selection().isSelected()) {
          lb.setAdminState("web", where.selection().backend().id(), AdminState.DRAINING);
        }
        String report =
            http.send(
                    HttpRequest.newBuilder(
                            URI.create(
                                "http://127.0.0.1:" + proxy.adminAddress().getPort() + "/report"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .body();
        System.out.println("GET /report ->\n" + report);
      }
    } finally {
      for (HttpServer s : backends) {
        s.stop(0);
      }
    }
  }

  /** Sends {@code n} HTTP/1.0 requests, each on a new connection, and prints who answered. */
  private static void requests(int n) throws IOException {
    StringBuilder sb = new StringBuilder("  " + n + " requests to 127.0.0.1:8080 answered by:");
    for (int i = 0; i < n; i++) {
      try (Socket s = new Socket("127.0.0.1", 8080)) {
        s.setSoTimeout(5000);
        s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        sb.append(' ').append(response.substring(response.indexOf("\r\n\r\n") + 4));
      }
    }
    System.out.println(sb);
  }

  /** Waits, at most {@code seconds}, until the first probes have passed for all three. */
  private static void awaitHealthy(StandaloneProxy proxy, int seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    for (String id : new String[] {"web-1", "web-2", "web-3"}) {
      while (proxy.proxy().loadBalancer().health("http", id).state() != HealthState.HEALTHY
          && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
      }
    }
  }

  /** A demo backend: answers its name on / and 200 on /healthz. */
  private static HttpServer backend(String name, String address) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(address, 8081), 50);
    s.createContext(
        "/",
        exchange -> {
          try (InputStream in = exchange.getRequestBody()) {
            in.readAllBytes();
          }
          byte[] body =
              (exchange.getRequestURI().getPath().equals("/healthz") ? "ok" : name)
                  .getBytes(StandardCharsets.US_ASCII);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    s.start();
    return s;
  }
}

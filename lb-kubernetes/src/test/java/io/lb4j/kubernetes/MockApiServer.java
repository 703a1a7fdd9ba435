package io.lb4j.kubernetes;

import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashMap;

/**
 * fabric8's mock Kubernetes API server in CRUD mode (objects created, updated, deleted, listed and
 * watched as a real API server would, in memory), bound to 127.0.0.1 on a port the kernel gives. No
 * real API server can run on these machines; this one serves the same REST and watch protocol to
 * the same client. {@link #stop()} and {@link #restart()} take it away and bring it back on the
 * same port with the same objects.
 *
 * <p>Not thread-safe.
 */
final class MockApiServer implements AutoCloseable {
  static final InetAddress LOOPBACK = loopback();

  /** Vert.x and the mock server log each request on java.util.logging; warnings are enough. */
  private static final java.util.logging.Logger QUIET = quiet();

  private final KubernetesMockServer server;
  private final int port;

  MockApiServer() {
    MockWebServer web = new MockWebServer();
    // the JDK client asks every plain-HTTP request to upgrade to HTTP/2 (h2c); fabric8's mock
    // server advises against accepting that with the JDK client
    web.setHttp2ClearTextEnabled(false);
    server =
        new KubernetesMockServer(
            new Context(), web, new HashMap<>(), new KubernetesCrudDispatcher(), false);
    server.init(LOOPBACK, 0);
    port = server.getPort();
  }

  private static java.util.logging.Logger quiet() {
    java.util.logging.Logger l = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");
    l.setLevel(java.util.logging.Level.WARNING);
    return l;
  }

  private static InetAddress loopback() {
    try {
      return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  /** Returns the API server's URL, {@code http://127.0.0.1:PORT/}. */
  String url() {
    return "http://127.0.0.1:" + port + "/";
  }

  int port() {
    return port;
  }

  /** Returns a new client of this server, with fabric8's JDK HTTP client (as the source uses). */
  KubernetesClient newClient() {
    return newClient(url());
  }

  /**
   * Returns a new client of the server at {@code url} (this one, or a relay in front of it), with
   * fabric8's JDK HTTP client and a short watch reconnect interval (100 ms, doubling).
   */
  KubernetesClient newClient(String url) {
    return server.createClient(
        b ->
            b.withHttpClientFactory(new JdkHttpClientFactory())
                .withConfig(
                    new ConfigBuilder()
                        .withMasterUrl(url)
                        .withNamespace("test")
                        .withWatchReconnectInterval(100)
                        .withRequestRetryBackoffLimit(0)
                        .build()));
  }

  /**
   * Stops the mock server. Its shutdown waits a bounded time for its event loop; when a watch it
   * served ended while it was sending on it, fabric8's mock (8.0.0) may hold that loop for up to a
   * minute (see {@link TcpRelay}), and the shutdown then gives up: that is said, not failed, as it
   * is the mock's own bookkeeping and not what the tests check. Its threads end with the JVM.
   */
  @Override
  public void close() {
    try {
      server.destroy();
    } catch (IllegalStateException e) {
      System.err.println("mock API server on port " + port + ": " + e.getMessage());
    }
  }
}

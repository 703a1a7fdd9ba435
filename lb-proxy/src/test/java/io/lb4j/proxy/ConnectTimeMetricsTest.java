package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lb4j_backend_connect_seconds{rule,backend}}: at zero for every backend before a
 * connection, one observation per successful connect after, following reloads.
 */
class ConnectTimeMetricsTest {
  @TempDir Path dir;

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  private static String yaml(int frontendPort, TestServer... backends) {
    StringBuilder b = new StringBuilder();
    b.append("frontends:\n  - { name: web, address: 127.0.0.1 }\n");
    b.append("backendPools:\n  - name: web\n    backends:\n");
    for (TestServer s : backends) {
      b.append("      - { id: ")
          .append(s.id)
          .append(", address: ")
          .append(s.address.getAddress().getHostAddress())
          .append(", port: ")
          .append(s.address.getPort())
          .append(" }\n");
    }
    b.append("loadBalancingRules:\n  - { name: app, frontend: web, frontendPort: ")
        .append(frontendPort)
        .append(", backendPool: web }\nadmin: { port: 0 }\n");
    return b.toString();
  }

  @Test
  void histogram_zeroBeforeAConnection_countAndBucketsAfter_followsReload() throws Exception {
    try (TestServer a = new TestServer("web-0", "127.0.0.2", TestServer.Mode.GREET_THEN_ECHO);
        TestServer b = new TestServer("web-1", "127.0.0.3", TestServer.Mode.GREET_THEN_ECHO)) {
      int port = TestServer.freePort("127.0.0.1");
      Path file = dir.resolve("lb.yaml");
      Files.writeString(file, yaml(port, a));
      try (StandaloneProxy p = StandaloneProxy.start(file)) {
        String before = metrics(p.adminAddress());
        assertTrue(before.contains("# TYPE lb4j_backend_connect_seconds histogram"), before);
        assertTrue(
            before.contains("lb4j_backend_connect_seconds_count{backend=\"web-0\",rule=\"app\"} 0"),
            before);
        try (Socket c = new Socket("127.0.0.1", port)) {
          c.setSoTimeout(10_000);
          assertEquals("web-0", TestServer.readLine(c.getInputStream()));
        }
        // the connect was recorded before the backend could greet through it
        String after = metrics(p.adminAddress());
        assertTrue(
            after.contains("lb4j_backend_connect_seconds_count{backend=\"web-0\",rule=\"app\"} 1"),
            after);
        assertTrue(
            after.contains(
                "lb4j_backend_connect_seconds_bucket{backend=\"web-0\",rule=\"app\",le=\"5.0E-4\"}"),
            after);
        assertTrue(
            after.contains(
                "lb4j_backend_connect_seconds_bucket{backend=\"web-0\",rule=\"app\",le=\"+Inf\"} 1"),
            after);
        assertTrue(
            after.contains("lb4j_backend_connect_seconds_max{backend=\"web-0\",rule=\"app\"}"),
            after);

        Files.writeString(file, yaml(port, b)); // web-0 leaves, web-1 joins
        assertNull(p.reload());
        String reloaded = metrics(p.adminAddress());
        assertTrue(
            reloaded.contains(
                "lb4j_backend_connect_seconds_count{backend=\"web-1\",rule=\"app\"} 0"),
            reloaded);
        assertFalse(reloaded.contains("backend=\"web-0\""), reloaded);
      }
    }
  }

  private static String metrics(InetSocketAddress admin) throws IOException {
    try (Socket s = new Socket(admin.getAddress(), admin.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:"
                      + admin.getPort()
                      + "\r\nConnection: close\r\n\r\n")
                  .getBytes(US_ASCII));
      return new String(s.getInputStream().readAllBytes(), US_ASCII);
    }
  }
}

package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.netty.TestServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code target/lb4j-proxy.jar} as shipped, run by failsafe once {@code package} built it: it
 * carries Logback (and no other SLF4J binding), starts, and writes ISO 8601 timestamped lines to
 * stderr, the connection log among them, with {@code --log-level} in force.
 */
class ShadedJarIT {
  private static final Path JAR = Path.of("target", "lb4j-proxy.jar");

  /** {@code 2026-05-01T12:00:00.123Z INFO [thread] logger - message}: logback.xml's pattern. */
  private static final Pattern LINE =
      Pattern.compile(
          "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR)"
              + " \\[[^\\]]+\\] [\\w.$]+ - .*");

  @TempDir Path dir;

  @Test
  void jar_logbackOnly_timestampedLinesOnStderr_connectionLogAndLevelFlag() throws Exception {
    assertTrue(Files.isRegularFile(JAR), JAR + " missing: failsafe runs after package");
    try (JarFile jar = new JarFile(JAR.toFile())) {
      assertNotNull(jar.getEntry("logback.xml"));
      assertNotNull(jar.getEntry("ch/qos/logback/classic/LoggerContext.class"));
      assertEquals(
          List.of(),
          jar.stream()
              .map(e -> e.getName())
              .filter(n -> n.startsWith("org/slf4j/simple/") || n.startsWith("org/slf4j/nop/"))
              .toList(),
          "another SLF4J binding in the jar");
    }
    try (TestServer backend =
        new TestServer("web-0", "127.0.0.2", TestServer.Mode.GREET_THEN_ECHO)) {
      int port = TestServer.freePort("127.0.0.1");
      Path file = dir.resolve("lb.yaml");
      Files.writeString(
          file,
          "frontends:\n  - { name: web, address: 127.0.0.1 }\n"
              + "backendPools:\n  - name: web\n    backends:\n"
              + "      - { id: web-0, address: 127.0.0.2, port: "
              + backend.address.getPort()
              + " }\n"
              + "loadBalancingRules:\n  - { name: app, frontend: web, frontendPort: "
              + port
              + ", backendPool: web }\n"
              + "admin: { enabled: false }\n"
              + "logging: { accessLog: true }\n");
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process proxy =
          new ProcessBuilder(
                  java,
                  "-jar",
                  JAR.toString(),
                  "--config",
                  file.toString(),
                  "--log-level",
                  "io.lb4j.netty=WARN")
              .start();
      BlockingQueue<String> stderr = new LinkedBlockingQueue<>();
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(proxy.getErrorStream(), UTF_8))) {
                  for (String l; (l = r.readLine()) != null; ) {
                    stderr.add(l);
                  }
                } catch (IOException e) {
                  stderr.add(e.toString());
                }
              });
      reader.setDaemon(true);
      reader.start();
      try {
        BufferedReader out =
            new BufferedReader(new InputStreamReader(proxy.getInputStream(), UTF_8));
        String listening = out.readLine();
        assertTrue(
            listening != null && listening.startsWith("lb4j proxy listening: app 127.0.0.1:"),
            listening + " / stderr: " + stderr);
        int clientPort;
        try (Socket c = new Socket("127.0.0.1", port)) {
          c.setSoTimeout(10_000);
          clientPort = c.getLocalPort();
          assertEquals("web-0", TestServer.readLine(c.getInputStream()));
        }
        List<String> seen = new ArrayList<>();
        String access = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (access == null) {
          String l = stderr.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
          assertNotNull(l, "no connection log line within 20 s; stderr: " + seen);
          seen.add(l);
          if (l.contains(" io.lb4j.access - client=127.0.0.1:" + clientPort + " ")) {
            access = l;
          }
        }
        for (String l : seen) {
          assertTrue(LINE.matcher(l).matches(), "not a timestamped line: " + l);
          assertFalse(l.contains("SLF4J"), l);
          assertFalse(
              l.contains(" INFO  ") && l.contains(" io.lb4j.netty."),
              "--log-level io.lb4j.netty=WARN not applied: " + l);
        }
        assertTrue(access.contains(" INFO  "), access);
        assertTrue(access.contains(" rule=app backend=web-0 backend_addr=127.0.0.2:"), access);
      } finally {
        proxy.destroy(); // SIGTERM: drains (nothing open) and exits 0
        assertTrue(proxy.waitFor(30, TimeUnit.SECONDS), "the proxy did not exit");
        proxy.destroyForcibly();
      }
      assertEquals(0, proxy.exitValue(), "stderr: " + stderr);
    }
  }
}

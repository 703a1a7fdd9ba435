package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.ProxyFixture;
import io.lb4j.netty.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Each way the admin endpoint could be abused, over real sockets on 127.0.0.1: a web page's
 * cross-origin POST, DNS rebinding, idle and slow connections, oversized request lines, headers and
 * bodies, malformed requests. Every refusal is an answer with the reason as JSON, then a close.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminSecurityTest {
  private static final int WAIT_MS = 10_000;
  private static final String TOKEN = "0123456789abcdef0123";

  private ProxyFixture f;
  private final AtomicInteger reloads = new AtomicInteger();
  private AdminServer open;
  private AdminServer withToken;

  @BeforeAll
  void start() throws Exception {
    f = new ProxyFixture(1, TestServer.Mode.GREET_THEN_ECHO, r -> r, c -> c, p -> p);
    AdminOptions loopback =
        AdminOptions.at(new InetSocketAddress("127.0.0.1", 0))
            .withAllowedHosts(Set.of("LB.example.com"))
            .withIdleTimeout(Duration.ofMillis(300));
    open = new AdminServer(f.proxy, this::reload, loopback);
    withToken = new AdminServer(f.proxy, this::reload, loopback.withToken(TOKEN));
  }

  private String reload() {
    reloads.incrementAndGet();
    return null;
  }

  @AfterAll
  void stop() throws IOException {
    open.close();
    withToken.close();
    f.close();
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  /** An answer read to the end of the stream: a reset instead of an end fails the read. */
  private record Answer(int status, String head, String body) {
    String error() throws IOException {
      return new ObjectMapper().readTree(body).path("error").asText();
    }
  }

  /** Sends {@code request} as is, then reads the whole answer up to the server's close. */
  private static Answer exchange(AdminServer admin, String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", admin.address().getPort())) {
      s.setSoTimeout(WAIT_MS);
      s.getOutputStream().write(request.getBytes(US_ASCII));
      s.getOutputStream().flush();
      return read(s.getInputStream());
    }
  }

  private static Answer read(InputStream in) throws IOException {
    String raw = new String(in.readAllBytes(), US_ASCII); // to the end: the server closed
    int end = raw.indexOf("\r\n\r\n");
    assertTrue(end > 0, "no answer: '" + raw + "'");
    String head = raw.substring(0, end);
    return new Answer(Integer.parseInt(head.substring(9, 12)), head, raw.substring(end + 4));
  }

  private static String host(AdminServer admin) {
    return "127.0.0.1:" + admin.address().getPort();
  }

  private static String post(AdminServer admin, String headers) {
    return "POST /reload HTTP/1.1\r\nHost: "
        + host(admin)
        + "\r\n"
        + headers
        + "Content-Length: 2\r\n\r\n{}";
  }

  @Test
  void reload_crossOriginTextPlainPost_refused403WithTheReason_nothingReloaded() throws Exception {
    int before = reloads.get();
    for (String type :
        List.of(
            "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x")) {
      Answer a =
          exchange(
              open, post(open, "Origin: http://evil.example\r\nContent-Type: " + type + "\r\n"));
      assertEquals(403, a.status(), a.head());
      assertEquals(
          "Content-Type: '"
              + type
              + "' (expected: application/json, which a web page cannot send to another origin"
              + " without a preflight this endpoint never approves)",
          a.error());
    }
    Answer none = exchange(open, post(open, ""));
    assertEquals(403, none.status(), none.head());
    assertTrue(none.error().startsWith("Content-Type: missing (expected: application/json"));
    assertEquals(before, reloads.get(), "a refused request reloaded");
  }

  @Test
  void reload_jsonPost_reloads_getIsRefused405() throws Exception {
    int before = reloads.get();
    Answer ok = exchange(open, post(open, "Content-Type: Application/JSON; charset=utf-8\r\n"));
    assertEquals(200, ok.status(), ok.head() + ok.body());
    assertEquals(before + 1, reloads.get());
    Answer get = exchange(open, "GET /reload HTTP/1.1\r\nHost: " + host(open) + "\r\n\r\n");
    assertEquals(405, get.status(), get.head());
    assertEquals("GET /reload (expected: POST)", get.error());
    assertEquals(before + 1, reloads.get());
  }

  @Test
  void reload_tokenConfigured_onlyWithTheToken() throws Exception {
    int before = reloads.get();
    Answer missing = exchange(withToken, post(withToken, "Content-Type: application/json\r\n"));
    assertEquals(403, missing.status(), missing.head());
    assertEquals(
        "X-Lb4j-Token: missing (expected: admin.token of the proxy's file; lb4j-proxy reload"
            + " --token)",
        missing.error());
    Answer wrong =
        exchange(
            withToken,
            post(withToken, "Content-Type: application/json\r\nX-Lb4j-Token: " + TOKEN + "x\r\n"));
    assertEquals(403, wrong.status(), wrong.head());
    assertTrue(wrong.error().startsWith("X-Lb4j-Token: wrong"), wrong.error());
    assertEquals(before, reloads.get());
    Answer ok = exchange(withToken, post(withToken, "X-Lb4j-Token: " + TOKEN + "\r\n"));
    assertEquals(200, ok.status(), ok.head() + ok.body());
    assertEquals(before + 1, reloads.get());
  }

  @Test
  void reloadCommand_sendsWhatTheEndpointAsks() {
    int before = reloads.get();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, ProxyCli.run(out, err, "reload", "--admin", host(open)), err.toString());
    assertEquals("lb4j-proxy: " + host(open) + " reloaded\n", out.toString());
    assertEquals(
        ProxyMain.RUNTIME_ERROR, ProxyCli.run(out, err, "reload", "--admin", host(withToken)));
    assertTrue(
        err.toString()
            .contains(
                "lb4j-proxy reload: " + host(withToken) + " answered 403: X-Lb4j-Token: missing"),
        err.toString());
    assertEquals(
        0,
        ProxyCli.run(out, err, "reload", "--admin", host(withToken), "--token", TOKEN),
        err.toString());
    assertEquals(before + 2, reloads.get());
  }

  @Test
  void host_rebindingNameRefused421_ownAddressLocalhostAndAllowedNamesServed() throws Exception {
    int port = open.address().getPort();
    for (String refused :
        List.of(
            "evil.example:" + port, "127.0.0.2:" + port, "localhost.evil.example", "127.0.0.1:x")) {
      Answer a = exchange(open, "GET /backends HTTP/1.1\r\nHost: " + refused + "\r\n\r\n");
      assertEquals(421, a.status(), refused + ": " + a.head());
      assertEquals(
          "Host: '"
              + refused
              + "' (expected: one of [127.0.0.1:"
              + port
              + ", localhost, lb.example.com])",
          a.error());
      assertTrue(!a.body().contains("\"rules\""), "state was read through " + refused);
    }
    for (String served :
        List.of("127.0.0.1:" + port, "127.0.0.1", "localhost:" + port, "lb.example.COM")) {
      Answer a = exchange(open, "GET /backends HTTP/1.1\r\nHost: " + served + "\r\n\r\n");
      assertEquals(200, a.status(), served + ": " + a.head());
    }
    Answer none = exchange(open, "GET /backends HTTP/1.1\r\n\r\n");
    assertEquals(400, none.status(), none.head());
    assertTrue(
        none.error().startsWith("Host: missing (expected: one of [127.0.0.1:"), none.error());
  }

  @Test
  void idleConnection_closedAfterTheIdleTimeout() throws Exception {
    for (String sent : List.of("", "GET /health HT")) { // nothing, and a request never finished
      try (Socket s = new Socket("127.0.0.1", open.address().getPort())) {
        s.setSoTimeout(WAIT_MS);
        long start = System.nanoTime();
        s.getOutputStream().write(sent.getBytes(US_ASCII));
        assertEquals(-1, s.getInputStream().read(), "the endpoint answered '" + sent + "'");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms >= 250, "closed after " + ms + " ms (expected: the 300 ms idle timeout)");
      }
    }
  }

  @Test
  void hundredKilobyteHeader_answered431_notReset() throws Exception {
    Answer a =
        exchange(
            open,
            "GET /health HTTP/1.1\r\nHost: "
                + host(open)
                + "\r\nX-Big: "
                + "a".repeat(100_000)
                + "\r\n\r\n");
    assertEquals(431, a.status(), a.head());
    assertEquals("header fields: more than 8192 bytes (expected: at most 8192 bytes)", a.error());
  }

  @Test
  void longRequestLine_answered400() throws Exception {
    Answer a =
        exchange(
            open, "GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: " + host(open) + "\r\n\r\n");
    assertEquals(400, a.status(), a.head());
    assertEquals("request line: more than 4096 bytes (expected: at most 4096 bytes)", a.error());
  }

  @Test
  void malformedRequestLine_answered400_notRouted() throws Exception {
    for (String line : List.of("GARBAGE", "GET /health FTP/1.0", "GET /health HTTP/1.1 extra")) {
      Answer a = exchange(open, line + "\r\nHost: " + host(open) + "\r\n\r\n");
      assertEquals(400, a.status(), line + ": " + a.head());
      assertTrue(a.error().startsWith("malformed request: "), a.error());
      assertTrue(!a.body().contains("\"status\""), "routed: " + a.body());
    }
  }

  @Test
  void tenMegabyteBody_answered413_andTheConnectionCloses() throws Exception {
    int before = reloads.get();
    try (Socket s = new Socket("127.0.0.1", open.address().getPort())) {
      s.setSoTimeout(WAIT_MS);
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /reload HTTP/1.1\r\nHost: "
                  + host(open)
                  + "\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
              .getBytes(US_ASCII));
      out.write(new byte[1 << 20]); // the first MiB of it: the server reads and drops it
      out.flush();
      Answer a = read(s.getInputStream()); // to the end of the stream: the server closed
      assertEquals(413, a.status(), a.head());
      assertEquals("body: 10000000 bytes (expected: at most 65536 bytes)", a.error());
      assertTrue(a.head().contains("connection: close"), a.head());
    }
    assertEquals(before, reloads.get());
  }

  @Test
  void chunkedBodyOverTheLimit_answered413_andTheConnectionCloses() throws Exception {
    int before = reloads.get();
    String chunk = Integer.toHexString(16384) + "\r\n" + "x".repeat(16384) + "\r\n";
    try (Socket s = new Socket("127.0.0.1", open.address().getPort())) {
      s.setSoTimeout(WAIT_MS);
      OutputStream out = s.getOutputStream();
      ByteArrayOutputStream request = new ByteArrayOutputStream();
      request.write(
          ("POST /reload HTTP/1.1\r\nHost: "
                  + host(open)
                  + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
              .getBytes(US_ASCII));
      for (int i = 0; i < 6; i++) {
        request.write(chunk.getBytes(US_ASCII));
      }
      request.write("0\r\n\r\n".getBytes(US_ASCII));
      out.write(request.toByteArray());
      out.flush();
      Answer a = read(s.getInputStream());
      assertEquals(413, a.status(), a.head());
      assertEquals("body: more than 65536 bytes (expected: at most 65536 bytes)", a.error());
    }
    assertEquals(before, reloads.get());
  }
}

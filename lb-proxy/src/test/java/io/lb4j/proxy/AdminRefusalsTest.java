package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lb4j.netty.Cidr;
import io.lb4j.netty.FrontendOptions;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.ProxyFixture;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A client refused by the frontend's deny list, as the admin endpoint and the CLI show it: the
 * {@code CLIENTS_REFUSED} finding in {@code /report} and {@code /diagnose}, the refusal first in
 * {@code /explain} and {@code lb4j-proxy explain}, the counts by reason in {@code /rules}. The
 * report is also written to {@code target/clients-refused-report.txt}, the example in
 * docs/diagnostics.md.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminRefusalsTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private ProxyFixture f;
  private AdminServer admin;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();

  @BeforeAll
  void start() throws Exception {
    f =
        new ProxyFixture(
            2,
            TestServer.Mode.ECHO,
            r -> r,
            c -> c,
            p ->
                p.frontendOptions(
                    "fe",
                    new FrontendOptions(
                        false, 0, List.of(), List.of(Cidr.parse("127.0.0.64/26")))));
    for (int i = 0; i < 12; i++) {
      refused("127.0.0.70");
    }
    refused("127.0.0.71");
    admin =
        new AdminServer(
            f.proxy, () -> null, AdminOptions.at(new InetSocketAddress("127.0.0.1", 0)));
  }

  /** Connects from {@code source}; returns once the proxy closed it (bounded by WAIT). */
  private void refused(String source) throws IOException {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress(source, 0));
      s.setSoTimeout((int) WAIT.toMillis());
      s.connect(f.frontend, (int) WAIT.toMillis());
      assertEquals(-1, s.getInputStream().read(), "expected the proxy to close " + source);
    } catch (SocketException reset) {
      // closed with a reset: refused as well
    }
  }

  @AfterAll
  void stop() throws IOException {
    if (admin != null) {
      admin.close();
    }
    f.close();
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  private String endpoint() {
    return "127.0.0.1:" + admin.address().getPort();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://" + endpoint() + path)).timeout(WAIT).build(),
        HttpResponse.BodyHandlers.ofString(UTF_8));
  }

  @Test
  void report_showsTheRefusalFindingAndCounts() throws Exception {
    String body = get("/report").body();
    Files.writeString(Path.of("target", "clients-refused-report.txt"), body);
    assertTrue(body.contains("WARNING CLIENTS_REFUSED rule app\n"), body);
    assertTrue(
        body.contains(
            "  frontend fe refuses clients: 13 connections from 2 sources, most from 127.0.0.70"
                + " (12) matched deny 127.0.0.64/26 (rule app)\n"),
        body);
    assertTrue(
        body.contains(
            "  - DENY_LIST 127.0.0.64/26: 13 connections, from 127.0.0.70 (12), 127.0.0.71 (1)\n"),
        body);
    assertTrue(body.contains("  refused: 13 DENY_LIST since "), body);
    assertTrue(
        body.contains("fix: if 127.0.0.70 should reach rule app, remove 127.0.0.64/26"), body);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, ProxyCli.run(out, err, "report", "--admin", endpoint()), err.toString());
    assertTrue(out.toString().contains("WARNING CLIENTS_REFUSED rule app"), out.toString());
  }

  @Test
  void diagnoseAndRules_json() throws Exception {
    JsonNode d = new ObjectMapper().readTree(get("/diagnose").body());
    JsonNode finding = null;
    for (JsonNode n : d.path("findings")) {
      if (n.path("check").asText().equals("CLIENTS_REFUSED")) {
        finding = n;
      }
    }
    assertTrue(finding != null, d.toString());
    assertEquals("app", finding.path("rule").asText());
    assertEquals("WARNING", finding.path("severity").asText());
    JsonNode rules = new ObjectMapper().readTree(get("/rules").body());
    JsonNode refusals = rules.get(0).path("refusals");
    assertEquals("fe", refusals.path("frontend").asText(), refusals.toString());
    assertEquals(13, refusals.path("total").path("DENY_LIST").asLong(), refusals.toString());
    assertEquals(0, refusals.path("total").path("CONNECTION_LIMIT").asLong(), refusals.toString());
    assertEquals(8, refusals.path("recent").size(), refusals.toString());
    assertEquals("127.0.0.71", refusals.path("recent").get(0).path("source").asText());
    assertEquals("127.0.0.64/26", refusals.path("recent").get(0).path("match").asText());
  }

  @Test
  void metrics_refusalsByReason() throws Exception {
    String body = get("/metrics").body();
    assertTrue(
        body.contains("lb4j_frontend_refusals_total{reason=\"deny_list\",rule=\"app\"} 13.0"),
        body);
    assertTrue(
        body.contains("lb4j_frontend_refusals_total{reason=\"connection_limit\",rule=\"app\"} 0.0"),
        body);
  }

  @Test
  void explain_refusedSourceFirst_httpAndCli() throws Exception {
    String dst = "127.0.0.1:" + f.frontend.getPort();
    JsonNode e =
        new ObjectMapper().readTree(get("/explain?src=127.0.0.70:40000&dst=" + dst).body());
    assertEquals("REFUSED_BY_FRONTEND", e.path("answer").path("status").asText(), e.toString());
    assertTrue(
        e.path("text")
            .asText()
            .startsWith("refused: 127.0.0.70 matches deny 127.0.0.64/26 of frontend fe\n"),
        e.toString());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(
        0,
        ProxyCli.run(
            out, err, "explain", "--admin", endpoint(), "--src", "127.0.0.70:40000", "--dst", dst),
        err.toString());
    assertEquals(
        "refused: 127.0.0.70 matches deny 127.0.0.64/26 of frontend fe\n"
            + "  TCP 127.0.0.70:40000 -> "
            + dst
            + "\n  rule app (load-balancing rule on "
            + dst
            + "/TCP of frontend fe)\n"
            + "  no backend is asked: the frontend closes the connection first\n",
        out.toString());
    out.getBuffer().setLength(0);
    assertEquals(
        0,
        ProxyCli.run(
            out, err, "explain", "--admin", endpoint(), "--src", "127.0.0.9:40000", "--dst", dst),
        err.toString());
    assertTrue(out.toString().contains("answer web-"), out.toString());
  }
}

package io.lb4j.proxy;

import static io.lb4j.xds.XdsTestServer.assignment;
import static io.lb4j.xds.XdsTestServer.endpoint;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.netty.TestServer;
import io.lb4j.xds.XdsTestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many instances that agree, end to end: standalone proxies started from YAML whose pool comes from
 * one real xDS management server (java-control-plane on 127.0.0.5, lb-xds's provider found by the
 * proxy with ServiceLoader) give the same backend for 10,000 flows and show equal selection
 * fingerprints on {@code /rules}, before and after a membership change.
 *
 * <p>Two proxies cannot listen on one address and port here, as instances behind ECMP share a VIP;
 * so the concurrent pair hashes {@code SOURCE_IP_PROTOCOL} (no ports) on one frontend address, and
 * the 5-tuple case restarts an instance on the same address and port, as ECMP moving flows to a
 * fresh instance does.
 */
class XdsTwoProxiesTest {
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final int FLOWS = 10_000;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private final XdsTestServer xds = new XdsTestServer("127.0.0.5");
  private final List<StandaloneProxy> proxies = new ArrayList<>();

  @AfterEach
  void tearDown() {
    for (StandaloneProxy p : proxies) {
      p.close();
    }
    xds.close();
  }

  private Path yaml(String name, int port, String mode, String node) throws IOException {
    Path file = dir.resolve(name + ".yaml");
    Files.writeString(
        file,
        "frontends:\n  - { name: vip, address: 127.0.0.1 }\n"
            + "backendPools:\n  - name: web\n    discovery: { type: xds, server: '"
            + xds.address().getAddress().getHostAddress()
            + ":"
            + xds.address().getPort()
            + "', cluster: web, node: "
            + node
            + " }\n"
            + "loadBalancingRules:\n  - { name: app, frontend: vip, frontendPort: "
            + port
            + ", backendPool: web, backendPort: 8080, distributionMode: "
            + mode
            + " }\n"
            + "admin: { port: 0 }\nshutdown: { drainTimeout: 1s }\nproxy: { seed: 42 }\n");
    return file;
  }

  private StandaloneProxy start(Path file) {
    StandaloneProxy p = StandaloneProxy.start(file);
    proxies.add(p);
    return p;
  }

  private void serve(String version, String... hosts) {
    List<io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint> eps = new ArrayList<>();
    for (int i = 0; i < hosts.length; i++) {
      eps.add(endpoint(hosts[i], 8080, i == 1 ? 2 : 0, HealthStatus.HEALTHY));
    }
    xds.serve(
        version,
        assignment("web", eps.toArray(new io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint[0])));
  }

  private static void await(BooleanSupplier done, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail(what + " not within " + WAIT);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
  }

  private static boolean has(StandaloneProxy p, int members) {
    List<DiscoveryStatus> s = p.proxy().loadBalancer().discoveries();
    return !s.isEmpty()
        && s.get(0).state() == DiscoveryStatus.State.OK
        && p.proxy().loadBalancer().config().pool("web").backends().size() == members;
  }

  private static String fingerprint(StandaloneProxy p) throws IOException {
    InetSocketAddress admin = p.adminAddress();
    try (Socket s = new Socket(admin.getAddress(), admin.getPort())) {
      s.setSoTimeout((int) WAIT.toMillis());
      s.getOutputStream()
          .write(
              ("GET /rules HTTP/1.1\r\nHost: 127.0.0.1:" + admin.getPort() + "\r\n\r\n")
                  .getBytes(US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), UTF_8);
      return JSON.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4))
          .path(0)
          .path("selectionFingerprint")
          .asText();
    }
  }

  /** Flow {@code i}: a client 127.x.y.z:(20000 + i % 40000) to the VIP 127.0.0.1:{@code port}. */
  private static FlowKey flow(int i, int port) {
    int client = 0x7f000000 | (0x10000 + i * 7919) & 0x00ffffff;
    return FlowKey.ipv4(client, 20000 + i % 40000, 0x7f000001, port, Protocol.TCP);
  }

  private static List<String> picks(StandaloneProxy p, int port) {
    List<String> out = new ArrayList<>(FLOWS);
    for (int i = 0; i < FLOWS; i++) {
      Selection s = p.proxy().loadBalancer().pick(flow(i, port));
      assertTrue(s.isSelected(), s.toString());
      out.add(s.backend().id());
    }
    return out;
  }

  @Test
  void twoRunningProxies_sameServerSameSeed_agreeOnEveryFlow_beforeAndAfterAChange()
      throws IOException {
    serve("v1", "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14");
    int portA = TestServer.freePort("127.0.0.1");
    int portB = TestServer.freePort("127.0.0.1");
    StandaloneProxy a = start(yaml("a", portA, "SOURCE_IP_PROTOCOL", "edge-a"));
    StandaloneProxy b = start(yaml("b", portB, "SOURCE_IP_PROTOCOL", "edge-b"));
    await(() -> has(a, 4) && has(b, 4), "both proxies with the 4 endpoints");

    List<String> before = picks(a, portA);
    assertEquals(before, picks(b, portB), "every flow, the same backend");
    assertEquals(4, new HashSet<>(before).size());
    String fpBefore = fingerprint(a);
    assertEquals(fpBefore, fingerprint(b));

    serve("v2", "127.0.0.11", "127.0.0.12", "127.0.0.14", "127.0.0.15");
    await(
        () ->
            has(a, 4)
                && has(b, 4)
                && a.proxy().loadBalancer().config().pool("web").backend("127.0.0.15:8080") != null
                && b.proxy().loadBalancer().config().pool("web").backend("127.0.0.15:8080") != null,
        "both proxies with the change");
    List<String> after = picks(a, portA);
    assertEquals(after, picks(b, portB), "every flow, the same backend after the change");
    assertNotEquals(before, after);
    String fpAfter = fingerprint(a);
    assertEquals(fpAfter, fingerprint(b));
    assertNotEquals(fpBefore, fpAfter);
  }

  @Test
  void fiveTuple_aFreshInstanceOnTheSameVip_picksWhatTheOldOneDid() throws IOException {
    serve("v1", "127.0.0.11", "127.0.0.12", "127.0.0.13");
    int port = TestServer.freePort("127.0.0.1");
    StandaloneProxy first = start(yaml("first", port, "FIVE_TUPLE", "edge-1"));
    await(() -> has(first, 3), "the first proxy with the 3 endpoints");
    List<String> byFirst = picks(first, port);
    String fp = fingerprint(first);
    first.close();
    proxies.remove(first);

    StandaloneProxy second = start(yaml("second", port, "FIVE_TUPLE", "edge-2"));
    await(() -> has(second, 3), "the second proxy with the 3 endpoints");
    assertEquals(byFirst, picks(second, port), "ECMP moving every flow to a fresh instance");
    assertEquals(fp, fingerprint(second));
  }
}

package io.lb4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every refusal of a bad value, with its message verbatim. */
class ValidationTest {

  private static void refused(String message, Executable executable) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, executable);
    assertEquals(message, e.getMessage());
  }

  @Test
  void backend_badValues_refusedWithFieldValueAndExpectation() {
    refused(
        "id: '' (expected: 1-64 characters of [A-Za-z0-9._:-], starting with a letter or"
            + " digit)",
        () -> Backend.of("", "127.0.0.2"));
    refused(
        "id: 'web 1' (expected: 1-64 characters of [A-Za-z0-9._:-], starting with a letter or"
            + " digit)",
        () -> Backend.of("web 1", "127.0.0.2"));
    refused(
        "address: 'web.example' (expected: an IPv4 or IPv6 address literal, such as 192.0.2.1 or"
            + " 2001:db8::1; names are never resolved)",
        () -> Backend.of("web-1", "web.example"));
    refused(
        "address: '127.0.0.256' (expected: an IPv4 or IPv6 address literal, such as 192.0.2.1 or"
            + " 2001:db8::1; names are never resolved)",
        () -> Backend.of("web-1", "127.0.0.256"));
    refused("port: 70000 (expected: 1-65535)", () -> Backend.of("web-1", "127.0.0.2", 70000));
    refused("port: 0 (expected: 1-65535)", () -> Backend.of("web-1", "127.0.0.2", 0));
    refused(
        "weight: -1 (expected: 0-65535)", () -> Backend.of("web-1", "127.0.0.2").withWeight(-1));
    refused(
        "weight: 65536 (expected: 0-65535)",
        () -> Backend.of("web-1", "127.0.0.2").withWeight(65536));
    assertThrows(
        NullPointerException.class, () -> Backend.of("web-1", "127.0.0.2").withAdminState(null));
  }

  @Test
  void backend_validValues_accepted() {
    Backend b = Backend.of("web-1", "::1", 8443).withWeight(0).withAdminState(AdminState.DRAINING);
    assertEquals("web-1([::1]:8443, weight=0, DRAINING)", b.toString());
    assertEquals(8443, b.target(80).getPort());
    assertEquals(80, Backend.of("web-2", "127.0.0.3").target(80).getPort());
    assertEquals(
        "web-2(127.0.0.3, weight=1, ENABLED)", Backend.of("web-2", "127.0.0.3").toString());
    assertEquals(65535, Backend.of("web-3", "[::1]").withWeight(65535).weight());
  }

  @Test
  void frontend_badValues_refused() {
    refused(
        "name: '-x' (expected: 1-64 characters of [A-Za-z0-9._:-], starting with a letter or"
            + " digit)",
        () -> Frontend.of("-x", "127.0.0.1"));
    refused(
        "address: 'localhost' (expected: an IPv4 or IPv6 address literal, such as 192.0.2.1 or"
            + " 2001:db8::1; names are never resolved)",
        () -> Frontend.of("web", "localhost"));
    assertEquals("web(127.0.0.1)", Frontend.of("web", "127.0.0.1").toString());
    assertEquals(true, Frontend.of("any", "0.0.0.0").isWildcard());
  }

  @Test
  void pool_duplicateIds_refused() {
    refused(
        "backends[1].id: 'a' (expected: unique in pool 'web')",
        () -> BackendPool.of("web", Backend.of("a", "127.0.0.2"), Backend.of("a", "127.0.0.3")));
    BackendPool p = BackendPool.of("web", Backend.of("a", "127.0.0.2"));
    assertEquals(List.of("a", "b"), p.withBackend(Backend.of("b", "127.0.0.3")).backendIds());
    assertEquals(List.of(), p.withoutBackend("a").backendIds());
    assertEquals(p, p.withoutBackend("zzz"));
  }

  @Test
  void probe_badValues_refused() {
    refused("port: 65536 (expected: 0-65535)", () -> HealthProbe.builder("p").port(65536));
    refused("interval: 0s (expected: > 0)", () -> HealthProbe.builder("p").interval(Duration.ZERO));
    refused(
        "timeout: 10s (expected: <= interval 5s)",
        () -> HealthProbe.builder("p").timeout(Duration.ofSeconds(10)).build());
    refused(
        "healthyThreshold: 0 (expected: 1-100)",
        () -> HealthProbe.builder("p").healthyThreshold(0));
    refused(
        "unhealthyThreshold: 101 (expected: 1-100)",
        () -> HealthProbe.builder("p").unhealthyThreshold(101));
    refused(
        "path: 'healthz' (expected: starts with '/', no spaces or control characters)",
        () -> HealthProbe.builder("p").path("healthz").build());
    refused(
        "expectedStatuses: '200-' (expected: statuses or ranges within 100-599 such as"
            + " '200,300-399'; bad element: '200-')",
        () -> HealthProbe.builder("p").expectedStatuses("200-"));
    refused(
        "expectedStatuses: '200,700' (expected: statuses or ranges within 100-599 such as"
            + " '200,300-399'; bad element: '700')",
        () -> HealthProbe.builder("p").expectedStatuses("200,700"));
    refused(
        "expectedStatuses: '399-200' (expected: statuses or ranges within 100-599 such as"
            + " '200,300-399'; bad element: '399-200')",
        () -> HealthProbe.builder("p").expectedStatuses("399-200"));
  }

  @Test
  void probe_defaultsAndStatusRanges() {
    HealthProbe p = HealthProbe.tcp("tcp");
    assertEquals(ProbeProtocol.TCP, p.protocol());
    assertEquals(Duration.ofSeconds(5), p.interval());
    assertEquals(2, p.healthyThreshold());
    assertEquals(3, p.unhealthyThreshold());
    assertEquals(true, p.isExpected(200));
    assertEquals(false, p.isExpected(204));
    HealthProbe http =
        HealthProbe.builder("h")
            .protocol(ProbeProtocol.HTTP)
            .expectedStatuses("200-399, 404")
            .build();
    assertEquals(true, http.isExpected(302));
    assertEquals(true, http.isExpected(404));
    assertEquals(false, http.isExpected(503));
    assertEquals("[200-399, 404]", http.expectedStatuses().toString());
    assertEquals(http, http.toBuilder().build());
  }

  @Test
  void rule_badValues_refused() {
    refused(
        "frontendPort: 0 (expected: 1-65535)",
        () -> LoadBalancingRule.builder("r").frontendPort(0));
    refused(
        "frontend: not set (expected: a name) in rule 'r'",
        () -> LoadBalancingRule.builder("r").frontendPort(80).backendPool("web").build());
    refused(
        "frontendPort: not set (expected: 1-65535) in rule 'r'",
        () -> LoadBalancingRule.builder("r").frontend("fe").backendPool("web").build());
    refused(
        "idleTimeout: -1s (expected: > 0)",
        () -> LoadBalancingRule.builder("r").idleTimeout(Duration.ofSeconds(-1)));
    refused(
        "idleTimeout: 8d (expected: > 0 and <= 7d)",
        () -> LoadBalancingRule.builder("r").idleTimeout(Duration.ofDays(8)));
    refused(
        "backend: not set (expected: a name) in NAT rule 'n'",
        () ->
            InboundNatRule.builder("n")
                .frontend("fe")
                .frontendPort(2222)
                .backendPool("web")
                .build());
  }

  @Test
  void rule_defaults() {
    LoadBalancingRule r =
        LoadBalancingRule.builder("r").frontend("fe").frontendPort(443).backendPool("web").build();
    assertEquals(443, r.backendPort());
    assertEquals(Protocol.TCP, r.protocol());
    assertEquals(DistributionMode.FIVE_TUPLE, r.distributionMode());
    assertEquals(SelectionPolicy.maglev(), r.selection());
    assertEquals(Duration.ofMinutes(4), r.idleTimeout());
    assertEquals(false, r.hasProbe());
    assertEquals(false, r.floatingIp());
    assertEquals(r, r.toBuilder().build());
  }

  @Test
  void selectionPolicy_badValues_refused() {
    refused("maglevTableSize: 8 (expected: a prime <= 5000011)", () -> SelectionPolicy.maglev(8));
    refused(
        "maglevTableSize: 5000077 (expected: a prime <= 5000011)",
        () -> SelectionPolicy.maglev(5000077));
    refused("ringPointsPerWeight: 0 (expected: 1-10000)", () -> SelectionPolicy.ringHash(0));
    refused(
        "boundedLoadFactor: 1.0 (expected: 0 for none, or > 1 and <= 100)",
        () -> SelectionPolicy.maglev().withBoundedLoad(1.0));
    refused(
        "boundedLoadFactor: NaN (expected: 0 for none, or > 1 and <= 100)",
        () -> SelectionPolicy.maglev().withBoundedLoad(Double.NaN));
    assertEquals(1.25, SelectionPolicy.ringHash(160).withBoundedLoad().boundedLoadFactor());
    assertEquals(655373, SelectionPolicy.maglev(655373).maglevTableSize());
    assertEquals(2, SelectionPolicy.maglev(2).maglevTableSize());
  }

  @Test
  void selection_inconsistentAnswer_refused() {
    refused(
        "backend: null, target: null (expected: both set exactly when the status is SELECTED,"
            + " status SELECTED)",
        () -> new Selection(Selection.Status.SELECTED, "r", null, null, "x"));
  }

  @Test
  void flowKey_badPort_refused() {
    refused(
        "sourcePort: 65536 (expected: 0-65535)", () -> FlowKey.ipv4(1, 65536, 2, 80, Protocol.TCP));
    refused(
        "destinationPort: -1 (expected: 0-65535)", () -> FlowKey.ipv4(1, 1, 2, -1, Protocol.UDP));
  }

  @Test
  void healthSettings_badValues_refused() {
    refused(
        "host: 'web_1.example' (expected: a DNS host name such as web.example.com)",
        () -> HealthProbe.builder("p").host("web_1.example").build());
    refused("jitterPercent: 51 (expected: 0-50)", () -> HealthProbe.builder("p").jitterPercent(51));
    refused(
        "initialState: UNHEALTHY (expected: UNKNOWN or HEALTHY)",
        () -> HealthProbe.builder("p").initialState(HealthState.UNHEALTHY).build());
    refused(
        "panicThresholdPercent: 0 (expected: 1-100)",
        () -> LoadBalancingRule.builder("r").panicThresholdPercent(0));
    refused(
        "drainTimeout: 0s (expected: > 0)",
        () -> LoadBalancingRule.builder("r").drainTimeout(Duration.ZERO));
    refused(
        "maxEjectionTime: 10s (expected: >= baseEjectionTime 30s)",
        () -> new OutlierDetection(5, Duration.ofSeconds(30), Duration.ofSeconds(10), 10));
    refused(
        "maxEjectionPercent: 101 (expected: 0-100)",
        () -> new OutlierDetection(5, Duration.ofSeconds(30), Duration.ofSeconds(300), 101));
    refused(
        "consecutiveFailures: -1 (expected: 0-1000)",
        () -> new OutlierDetection(-1, Duration.ofSeconds(30), Duration.ofSeconds(300), 10));
    refused(
        "latency: -1ms (expected: >= 0)",
        () ->
            new ProbeResult(
                java.time.Instant.EPOCH, ProbeOutcome.SUCCESS, Duration.ofMillis(-1), "x"));
  }

  @Test
  void healthSettings_defaults() {
    HealthProbe p = HealthProbe.tcp("p");
    assertEquals(10, p.jitterPercent());
    assertEquals(HealthState.UNKNOWN, p.initialState());
    assertEquals(null, p.host());
    LoadBalancingRule r =
        LoadBalancingRule.builder("r").frontend("fe").frontendPort(80).backendPool("web").build();
    assertEquals(UnhealthyFlowPolicy.KEEP, r.unhealthyFlowPolicy());
    assertEquals(NoHealthyBackendPolicy.FAIL_CLOSED, r.noHealthyBackendPolicy());
    assertEquals(Duration.ofSeconds(300), r.drainTimeout());
    assertEquals(50, r.panicThresholdPercent());
    assertEquals(OutlierDetection.DEFAULT, r.outlierDetection());
    assertEquals(5, r.outlierDetection().consecutiveFailures());
    assertEquals(HealthOverride.FOLLOW_PROBE, Backend.of("a", "127.0.0.2").healthOverride());
    assertEquals(
        "a(127.0.0.2, weight=1, ENABLED, FORCE_UP)",
        Backend.of("a", "127.0.0.2").withHealthOverride(HealthOverride.FORCE_UP).toString());
  }
}

package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Diagnosis;
import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.testing.FakeClock;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** The check over a hand-made view: folding into the balancer's finding, the source cap. */
class ClientsRefusedCheckTest {
  private final FakeClock clock = new FakeClock();
  private final Refusals refusals =
      new Refusals("app", clock, clock, "fe", FrontendOptions.DEFAULT);
  private final LoadBalancerConfig config =
      LoadBalancerConfig.builder()
          .frontend(Frontend.of("fe", "127.0.0.1"))
          .pool(new BackendPool("web", List.of(Backend.of("web-0", "127.0.0.2", 8080))))
          .rule(
              LoadBalancingRule.builder("app")
                  .frontend("fe")
                  .frontendPort(80)
                  .backendPool("web")
                  .build())
          .build();

  private Route route() {
    return new Route(
        "app",
        "fe",
        1_000_000_000L,
        "idle for 1s",
        false,
        RuleOptions.DEFAULT,
        ConnectRetryPolicy.maxAttempts(3),
        FrontendOptions.DEFAULT,
        Set.of(),
        new Counters(),
        new Counters(),
        refusals,
        new ConcurrentHashMap<>(),
        new ConcurrentHashMap<>(),
        null);
  }

  private List<Finding> run(List<Finding> balancer) {
    Diagnosis d = new Diagnosis(clock.instant(), 1, balancer);
    List<Finding> out = new ArrayList<>();
    int checks =
        new ClientsRefusedCheck()
            .run(new ProxyView(config, Map.of("app", route()), d, clock.read()), out);
    assertEquals(1, checks);
    return out;
  }

  @Test
  void noBackendOnly_foldedIntoTheBalancersCriticalFinding() throws Exception {
    refusals.record(
        RefusalReason.NO_BACKEND,
        InetAddress.getByName("127.0.0.9"),
        "NO_AVAILABLE_BACKEND: pool 'web' has 1 backend, none available");
    Finding unhealthy =
        new Finding(
            Severity.CRITICAL,
            Check.ALL_BACKENDS_UNHEALTHY,
            "app",
            null,
            "all down",
            List.of(),
            "x");
    assertEquals(List.of(), run(List.of(unhealthy)));
    List<Finding> alone = run(List.of());
    assertEquals(1, alone.size());
    assertTrue(
        alone.get(0).what().contains("1 connection from 127.0.0.9 refused: no backend selected"),
        alone.get(0).what());
  }

  @Test
  void manySources_countedOneByOneUpToTheCap_restTogetherUnderTheirMatch() throws Exception {
    for (int i = 0; i < Refusals.MAX_SOURCES + 36; i++) {
      refusals.record(
          RefusalReason.DENY_LIST,
          InetAddress.getByName("127.0." + (i / 250) + "." + (i % 250)),
          "127.0.0.0/8");
    }
    assertEquals(Refusals.MAX_SOURCES + 1, refusals.episode().groups.size());
    Finding f = run(List.of()).get(0);
    assertTrue(
        f.what()
            .startsWith("frontend fe refuses clients: 100 connections from more than 64 sources"),
        f.what());
    assertTrue(
        f.evidence()
            .contains(
                "DENY_LIST 127.0.0.0/8: 100 connections, from 127.0.0.0 (1), 127.0.0.1 (1), 127.0.0.10 (1), 97 from other sources"),
        f.toString());
  }
}

package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.testing.FakeClock;
import io.lb4j.testing.TestBackends;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Data-plane threads selecting and closing while the control plane changes the pool. */
class L4LoadBalancerConcurrencyTest {
  private static final long SEED = 2;
  private static final int OPS_PER_THREAD = 50_000;

  @ParameterizedTest
  @EnumSource(
      value = SelectionAlgorithm.class,
      names = {"MAGLEV", "LEAST_CONNECTIONS", "WEIGHTED_ROUND_ROBIN"})
  void selectAndClose_duringChanges_countsStayConsistent(SelectionAlgorithm algorithm)
      throws Exception {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", 8)))
            .rule(
                LoadBalancingRule.builder("http")
                    .frontend("fe")
                    .frontendPort(80)
                    .backendPool("web")
                    .algorithm(algorithm)
                    .build())
            .build();
    L4LoadBalancer lb = L4LoadBalancer.builder().config(config).ticker(new FakeClock()).build();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<Long>> workers = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        int thread = t;
        workers.add(
            pool.submit(
                () -> {
                  start.await();
                  SplittableRandom random = new SplittableRandom(SEED + thread);
                  long selected = 0;
                  for (int i = 0; i < OPS_PER_THREAD; i++) {
                    FlowKey f =
                        FlowKey.ipv4(
                            0x7f000000 | (thread << 16) | random.nextInt(4096),
                            1000,
                            0x7f000001,
                            80,
                            Protocol.TCP);
                    if (random.nextInt(3) == 0) {
                      lb.flowClosed(f);
                    } else {
                      Selection s = lb.select(f);
                      selected += s.isSelected() ? 1 : 0;
                    }
                  }
                  return selected;
                }));
      }
      Future<?> control =
          pool.submit(
              () -> {
                start.await();
                for (int i = 0; i < 200; i++) {
                  String id = "web-" + (i % 8);
                  lb.setAdminState(
                      "web", id, i % 2 == 0 ? AdminState.DRAINING : AdminState.ENABLED);
                  lb.setWeight("web", id, 1 + i % 3);
                }
                return null;
              });
      start.countDown();
      long selected = 0;
      for (Future<Long> w : workers) {
        selected += w.get(60, TimeUnit.SECONDS);
      }
      control.get(60, TimeUnit.SECONDS);
      assertTrue(selected > 0);
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
    int sum = 0;
    for (int b = 0; b < 8; b++) {
      int n = lb.activeFlows("http", "web-" + b);
      assertTrue(n >= 0, "negative count on web-" + b);
      sum += n;
    }
    assertEquals(lb.activeFlows(), sum, "per-backend counts disagree with the flow table");
  }
}

package sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import org.junit.jupiter.api.Test;

/** lb4j from its installed artifacts: the BOM's versions, lb-core's API. */
class ConsumerTest {
  @Test
  void balancerFromCoordinates_picksByKey() {
    try (L4LoadBalancer lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("svc", "127.0.0.1"))
                    .pool(
                        BackendPool.of(
                            "db", Backend.of("db-1", "127.0.0.2"), Backend.of("db-2", "127.0.0.3")))
                    .rule(
                        LoadBalancingRule.builder("db")
                            .frontend("svc")
                            .frontendPort(5432)
                            .backendPool("db")
                            .build())
                    .build())
            .build()) {
      Selection s = lb.pickByKey("db", "tenant-7");
      assertTrue(s.isSelected(), s.toString());
      assertEquals(s, lb.pickByKey("db", "tenant-7"));
    }
  }
}

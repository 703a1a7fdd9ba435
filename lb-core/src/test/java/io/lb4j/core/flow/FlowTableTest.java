package io.lb4j.core.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Scheduler;
import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import io.lb4j.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FlowTableTest {
  private final FakeClock clock = new FakeClock();
  private final List<String> expired = new ArrayList<>();

  private FlowTable<String> table(long capacity, Duration idle) {
    return FlowTable.<String>builder()
        .capacity(capacity)
        .ticker(clock)
        .executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler())
        .idleTimeoutNanos(v -> idle.toNanos())
        .onExpired((k, v) -> expired.add(v))
        .build();
  }

  private static FlowKey flow(int port) {
    return FlowKey.ipv4(0x7f000002, port, 0x7f000001, 80, Protocol.TCP);
  }

  /** Whether the flow is still known after the clock reaches {@code nanos} past its last read. */
  private boolean aliveAfter(FlowTable<String> t, long nanos) {
    clock.forwardNanos(nanos);
    t.cleanUp();
    return expired.isEmpty();
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 3, 250, 4_000, 60_000, 3_600_000})
  void get_readsRestartTheIdleTimer_flowExpiresExactlyAtTheIdleTimeout(long idleMillis) {
    Duration idle = Duration.ofMillis(idleMillis);
    long slack = Math.max(1, idle.toNanos() / 8); // read steps around an eighth of the timeout
    FlowTable<String> t = table(10, idle);
    t.putIfAbsent(flow(1), "a");
    // reads at uneven steps, each restarting the idle timer
    long[] steps = {slack / 3, slack - 1, 1, slack, idle.toNanos() - 1, slack / 2 + 1};
    for (long step : steps) {
      clock.forwardNanos(step);
      assertEquals("a", t.get(flow(1)), "idle " + idle);
    }
    assertTrue(aliveAfter(t, idle.toNanos() - 1), "expired before its idle timeout");
    clock.forwardNanos(1);
    assertNull(t.get(flow(1)), "outlived its idle timeout");
    // Caffeine's timer wheel hands expired entries to onExpired within about a second (2^30 ns)
    assertFalse(aliveAfter(t, Duration.ofMillis(1100).toNanos()));
    assertEquals(List.of("a"), expired);
    assertEquals(0, t.size());
  }

  @Test
  void putIfAbsent_full_refusesNewKeepsEstablished() {
    FlowTable<String> t = table(2, Duration.ofMinutes(1));
    assertEquals("a", t.putIfAbsent(flow(1), "a"));
    assertEquals("b", t.putIfAbsent(flow(2), "b"));
    assertNull(t.putIfAbsent(flow(3), "c"));
    assertEquals("a", t.putIfAbsent(flow(1), "x"), "a known flow keeps its value when full");
    assertEquals("a", t.get(flow(1)));
    assertEquals(2, t.size());
    assertEquals("b", t.remove(flow(2)));
    assertEquals("c", t.putIfAbsent(flow(3), "c"));
  }

  @Test
  void remove_onlyTheGivenValue() {
    FlowTable<String> t = table(10, Duration.ofMinutes(1));
    t.putIfAbsent(flow(1), "a");
    assertFalse(t.remove(flow(1), "b"));
    assertEquals(1, t.size());
    assertTrue(t.remove(flow(1), "a"));
    assertFalse(t.remove(flow(1), "a"));
    assertEquals(0, t.size());
    assertTrue(expired.isEmpty(), "removal is not expiry");
  }

  @Test
  void forEach_seesAssignments() {
    FlowTable<String> t = table(10, Duration.ofMinutes(1));
    t.putIfAbsent(flow(1), "a");
    t.putIfAbsent(flow(2), "b");
    Map<FlowKey, String> seen = new HashMap<>();
    t.forEach(seen::put);
    assertEquals(Map.of(flow(1), "a", flow(2), "b"), seen);
    t.clear();
    assertEquals(0, t.size());
    assertNull(t.get(flow(1)));
  }
}

package io.lb4j.core.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import io.lb4j.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FlowTableTest {
  private final FakeClock clock = new FakeClock();
  private final List<String> expired = new ArrayList<>();

  /** A table whose maintenance runs on the fake clock, as it would on the system scheduler. */
  private FlowTable<String> table(long capacity, Duration idle) {
    return table(capacity, idle, clock);
  }

  private FlowTable<String> table(
      long capacity, Duration idle, java.util.concurrent.ScheduledExecutorService scheduler) {
    return FlowTable.<String>builder()
        .capacity(capacity)
        .seed(42)
        .ticker(clock)
        .scheduler(scheduler)
        .idleTimeoutNanos(v -> idle.toNanos())
        .onExpired((k, v) -> expired.add(v))
        .build();
  }

  private static FlowKey flow(int port) {
    return FlowKey.ipv4(0x7f000002, port, 0x7f000001, 80, Protocol.TCP);
  }

  /** An equal key, but another instance, as a data path builds one per packet or connection. */
  private static FlowKey copy(FlowKey k) {
    return FlowKey.ipv6(
        k.sourceHigh(),
        k.sourceLow(),
        k.sourcePort(),
        k.destinationHigh(),
        k.destinationLow(),
        k.destinationPort(),
        k.protocol());
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 3, 250, 4_000, 60_000, 3_600_000})
  void get_readsRestartTheIdleTimer_flowExpiresAfterTheIdleTimeoutWithinTheBound(long idleMillis) {
    Duration idle = Duration.ofMillis(idleMillis);
    long tick = FlowTable.tickFor(idle.toNanos());
    FlowTable<String> t = table(10, idle);
    t.putIfAbsent(flow(1), "a");
    // reads at uneven steps, each restarting the idle timer, some shorter than a tick
    long[] steps = {tick / 3, tick - 1, 1, tick, idle.toNanos() - 1, tick / 2 + 1, idle.toNanos()};
    for (long step : steps) {
      clock.forwardNanos(step);
      assertEquals("a", t.get(copy(flow(1))), "idle " + idle);
    }
    assertEquals(tick, t.tickNanos());
    // never forgotten before it has been idle for its timeout ...
    clock.forwardTime(idle);
    assertEquals("a", t.peek(flow(1)), "forgotten before its idle timeout, idle " + idle);
    assertTrue(expired.isEmpty());
    // ... and forgotten within two ticks after
    long late = FlowTable.latestExpiryNanos(idle.toNanos()) - idle.toNanos();
    assertEquals(2 * tick, late);
    clock.forwardNanos(late);
    assertNull(t.peek(flow(1)), "outlived its idle timeout by more than two ticks, idle " + idle);
    assertEquals(List.of("a"), expired);
    assertEquals(0, t.size());
  }

  @Test
  void peek_doesNotRestartTheIdleTimer() {
    Duration idle = Duration.ofSeconds(16); // tick 1 s
    FlowTable<String> t = table(10, idle);
    t.putIfAbsent(flow(1), "a");
    clock.forwardTime(Duration.ofSeconds(1)); // first run stamps the insert
    for (int i = 0; i < 16; i++) { // stamped at 1 s: forgotten by the run at 17 s
      assertEquals("a", t.peek(flow(1)));
      clock.forwardTime(Duration.ofSeconds(1));
    }
    assertNull(t.peek(flow(1)));
    assertEquals(List.of("a"), expired);
  }

  @Test
  void cleanUp_lateMaintenance_expiresLaterNeverEarlier() {
    Duration idle = Duration.ofMinutes(4);
    FlowTable<String> t = table(10, idle, null);
    t.putIfAbsent(flow(1), "a");
    clock.forwardTime(idle.multipliedBy(10)); // maintenance stalled far past the timeout
    t.cleanUp(); // the first run sees the flow active: it may have been used a moment ago
    assertEquals("a", t.peek(flow(1)));
    clock.forwardTime(idle.minusNanos(1));
    t.cleanUp();
    assertEquals("a", t.peek(flow(1)));
    clock.forwardNanos(1);
    t.cleanUp();
    assertNull(t.peek(flow(1)));
    assertEquals(List.of("a"), expired);
  }

  @Test
  void maintenance_runsOnlyWhileTheTableHoldsFlows() {
    FlowTable<String> t = table(10, Duration.ofMinutes(4));
    assertEquals(0, clock.pendingTasks(), "an empty table schedules nothing");
    t.putIfAbsent(flow(1), "a");
    t.putIfAbsent(flow(2), "b");
    assertEquals(List.of(Duration.ofSeconds(1)), clock.pendingDelays());
    clock.forwardTime(Duration.ofSeconds(5));
    assertEquals(1, clock.pendingTasks(), "one chain of runs, not one per insert");
    t.remove(flow(1));
    t.remove(flow(2));
    clock.forwardTime(Duration.ofSeconds(1));
    assertEquals(0, clock.pendingTasks(), "the chain ends once the table is empty");
    t.putIfAbsent(flow(3), "c");
    assertEquals(1, clock.pendingTasks(), "and starts again with the next flow");
  }

  @Test
  void putIfAbsent_shorterIdleTimeout_shortensTheTickAndExpiresOnTime() {
    Map<String, Duration> idle =
        Map.of("long", Duration.ofMinutes(4), "short", Duration.ofMillis(32));
    FlowTable<String> t =
        FlowTable.<String>builder()
            .ticker(clock)
            .scheduler(clock)
            .idleTimeoutNanos(v -> idle.get(v).toNanos())
            .onExpired((k, v) -> expired.add(v))
            .build();
    t.putIfAbsent(flow(1), "long");
    assertEquals(TimeUnit.SECONDS.toNanos(1), t.tickNanos());
    t.putIfAbsent(flow(2), "short");
    assertEquals(TimeUnit.MILLISECONDS.toNanos(2), t.tickNanos());
    clock.forwardNanos(FlowTable.latestExpiryNanos(TimeUnit.MILLISECONDS.toNanos(32)));
    assertEquals(List.of("short"), expired);
    assertEquals(1, t.size());
    assertEquals(TimeUnit.SECONDS.toNanos(1), t.tickNanos(), "the tick follows the flows left");
    clock.forwardTime(Duration.ofSeconds(1)); // the first chain's next run finds itself replaced
    assertEquals(1, clock.pendingTasks(), "the shorter chain replaced the longer one");
    assertEquals("long", t.peek(flow(1)));
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
    assertTrue(t.remove(copy(flow(1)), "a"));
    assertFalse(t.remove(flow(1), "a"));
    assertEquals(0, t.size());
    assertTrue(expired.isEmpty(), "removal is not expiry");
  }

  @Test
  void forEach_seesAssignmentsWithTheirKeys() {
    FlowTable<String> t = table(10, Duration.ofMinutes(1));
    FlowKey v6 =
        FlowKey.ipv6(0x2001_0db8_0000_0000L, 1, 5353, 0, 1, 53, Protocol.UDP); // [2001:db8::1]
    t.putIfAbsent(flow(1), "a");
    t.putIfAbsent(flow(2), "b");
    t.putIfAbsent(v6, "c");
    Map<FlowKey, String> seen = new HashMap<>();
    t.forEach(seen::put);
    assertEquals(Map.of(flow(1), "a", flow(2), "b", v6, "c"), seen);
    t.clear();
    assertEquals(0, t.size());
    assertNull(t.get(flow(1)));
  }

  /** Random inserts, lookups and removals against a HashMap: growth, tombstones and shrinking. */
  @Test
  void operations_seededRandom_agreeWithHashMap() {
    long seed = 0x5EED_F10EL;
    SplittableRandom r = new SplittableRandom(seed);
    FlowTable<String> t = table(1_000_000, Duration.ofMinutes(1));
    Map<FlowKey, String> model = new HashMap<>();
    FlowKey[] keys = new FlowKey[5_000];
    for (int i = 0; i < keys.length; i++) {
      keys[i] =
          i % 5 == 0
              ? FlowKey.ipv6(r.nextLong(), r.nextLong(), r.nextInt(65536), 0, 1, 443, Protocol.TCP)
              : FlowKey.ipv4(r.nextInt(), r.nextInt(65536), 0x7f000001, 80, Protocol.TCP);
    }
    for (int op = 0; op < 200_000; op++) {
      FlowKey k = keys[r.nextInt(op < 100_000 ? keys.length : keys.length / 10)];
      String v = "v" + (op & 7);
      switch (r.nextInt(3)) {
        case 0:
          String before = model.putIfAbsent(k, v);
          assertEquals(before == null ? v : before, t.putIfAbsent(copy(k), v), "seed " + seed);
          break;
        case 1:
          assertEquals(model.remove(k), t.remove(copy(k)), "seed " + seed + ", op " + op);
          break;
        default:
          assertEquals(model.get(k), t.get(copy(k)), "seed " + seed + ", op " + op);
      }
      if (op % 10_000 == 0) {
        assertEquals(model.size(), t.size(), "seed " + seed);
      }
    }
    Map<FlowKey, String> seen = new HashMap<>();
    t.forEach(seen::put);
    assertEquals(model, seen, "seed " + seed);
  }

  /** Lookups take no lock: a flow that stays must be found while others come, go and rehash. */
  @Test
  void get_whileAnotherThreadInsertsAndRemoves_neverMissesAStableFlow() throws Exception {
    FlowTable<String> t = table(1_000_000, Duration.ofMinutes(1), null);
    FlowKey[] stable = new FlowKey[1_000];
    for (int i = 0; i < stable.length; i++) {
      stable[i] = FlowKey.ipv4(0x7f000002, i, 0x7f000001, 80, Protocol.TCP);
      t.putIfAbsent(stable[i], "stable");
    }
    AtomicBoolean done = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch finished = new CountDownLatch(1);
    Thread writer =
        new Thread(
            () -> {
              try {
                SplittableRandom r = new SplittableRandom(7);
                // waves of churn: the segments grow, fill with tombstones, shrink and rehash
                for (int wave = 0; wave < 40 && !done.get(); wave++) {
                  List<FlowKey> churn = new ArrayList<>();
                  for (int i = 0; i < 5_000; i++) {
                    FlowKey k =
                        FlowKey.ipv4(r.nextInt(), r.nextInt(65536), 0x7f000003, 81, Protocol.TCP);
                    t.putIfAbsent(k, "churn");
                    churn.add(k);
                  }
                  churn.forEach(t::remove);
                }
              } catch (Throwable e) {
                failure.set(e);
              } finally {
                finished.countDown();
              }
            },
            "flow-table-writer");
    writer.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    long lookups = 0;
    try {
      while (finished.getCount() > 0 && System.nanoTime() < deadline) {
        for (FlowKey k : stable) {
          assertEquals("stable", t.get(k), "a stable flow was missed after " + lookups + " hits");
          lookups++;
        }
      }
    } finally {
      done.set(true);
      assertTrue(finished.await(10, TimeUnit.SECONDS), "writer did not finish");
    }
    assertNull(failure.get());
    assertEquals(stable.length, t.size());
    assertTrue(lookups >= stable.length, "no lookup ran");
  }

  private static FlowKey flowOf(int n) {
    return FlowKey.ipv4(0x7f000000 | (n >>> 16), n & 0xFFFF, 0x7f000001, 80, Protocol.TCP);
  }

  @Test
  void putIfAbsent_largeCapacity_exactDespiteSegmentCredit() {
    int capacity = 300_000; // chunks of 64: segments hold credit
    FlowTable<String> t = table(capacity, Duration.ofHours(1), null);
    for (int n = 0; n < capacity; n++) {
      assertEquals("v", t.putIfAbsent(flowOf(n), "v"), "refused below capacity at " + n);
    }
    assertEquals(capacity, t.size());
    assertEquals(null, t.putIfAbsent(flowOf(capacity), "v"), "accepted beyond capacity");
    for (int n = 0; n < 1000; n += 7) {
      assertTrue(t.remove(flowOf(n), "v"));
      assertEquals("v", t.putIfAbsent(flowOf(capacity + n), "v"), "a freed place is taken");
      assertEquals(null, t.putIfAbsent(flowOf(2 * capacity + n), "v"));
    }
    assertEquals(capacity, t.size());
    t.clear();
    assertEquals(0, t.size());
    for (int n = 0; n < capacity; n++) {
      assertEquals("v", t.putIfAbsent(flowOf(n), "v"), "after clear, refused at " + n);
    }
    assertEquals(null, t.putIfAbsent(flowOf(capacity), "v"));
  }

  @Test
  void putIfAbsent_twoThreadsFilling_neverBeyondCapacity() throws Exception {
    int capacity = 100_000;
    FlowTable<String> t = table(capacity, Duration.ofHours(1), null);
    java.util.concurrent.atomic.AtomicInteger accepted =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      List<java.util.concurrent.Future<?>> done = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        int base = w * capacity;
        done.add(
            pool.submit(
                () -> {
                  for (int n = 0; n < capacity; n++) {
                    if (t.putIfAbsent(flowOf(base + n), "v") != null) {
                      accepted.incrementAndGet();
                    }
                    if (n % 3 == 0 && t.remove(flowOf(base + n), "v")) {
                      accepted.decrementAndGet();
                    }
                  }
                }));
      }
      for (java.util.concurrent.Future<?> f : done) {
        f.get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(accepted.get(), t.size());
    assertTrue(t.size() <= capacity, "size " + t.size());
    assertEquals(capacity, t.size(), "two writers of 133,333 live flows fill the table exactly");
  }
}

package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class NewFlowWindowTest {
  private static final int BACKENDS = 16;

  private static BackendSlot[] slots() {
    LongAdder total = new LongAdder();
    BackendSlot[] slots = new BackendSlot[BACKENDS];
    for (int i = 0; i < BACKENDS; i++) {
      slots[i] = new BackendSlot("r", Integer.toString(i), 1, total);
    }
    return slots;
  }

  /** A flow whose source port names the backend it is recorded with. */
  private static FlowKey flow(int n, int backend) {
    return FlowKey.ipv4(0x7f000100 + n, backend, 0x7f000001, 80, Protocol.TCP);
  }

  @Test
  void recent_oneThread_keepsTheLatestAndTheirTimes() {
    NewFlowWindow w = new NewFlowWindow();
    BackendSlot[] slots = slots();
    for (int n = 0; n < 100; n++) {
      w.record(flow(n, n % BACKENDS), slots[n % BACKENDS], 1000 + n);
    }
    List<NewFlowWindow.Sample> all = w.recent(0);
    assertEquals(100, all.size());
    assertEquals(50, w.recent(1050).size(), "only samples at or after 1050");
    for (NewFlowWindow.Sample s : all) {
      assertEquals(s.slot().backendId, Integer.toString(s.flow().sourcePort()));
    }
  }

  @Test
  void recent_moreThanCapacity_remembersAtMostCapacity() {
    NewFlowWindow w = new NewFlowWindow();
    BackendSlot[] slots = slots();
    for (int n = 0; n < 3 * NewFlowWindow.CAPACITY; n++) {
      w.record(flow(n, 0), slots[0], n);
    }
    int seen = w.recent(0).size();
    assertTrue(seen <= NewFlowWindow.CAPACITY / NewFlowWindow.STRIPES, "one thread, one ring");
    assertTrue(seen > 0);
  }

  @Test
  void recent_whileThreadsRecord_neverPairsAFlowWithAnotherBackend() throws Exception {
    NewFlowWindow w = new NewFlowWindow();
    BackendSlot[] slots = slots();
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      for (int t = 0; t < 3; t++) {
        int base = t * 1_000_000;
        pool.submit(
            () -> {
              for (int n = 0; n < 2_000_000 && !stop.get(); n++) {
                int b = (base + n) % BACKENDS;
                w.record(flow(n, b), slots[b], n);
              }
            });
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      int reads = 0;
      while (System.nanoTime() < deadline && reads < 200) {
        for (NewFlowWindow.Sample s : w.recent(0)) {
          assertEquals(Integer.toString(s.flow().sourcePort()), s.slot().backendId, "torn sample");
        }
        reads++;
      }
      assertTrue(reads > 0);
    } finally {
      stop.set(true);
      pool.shutdown();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
  }
}

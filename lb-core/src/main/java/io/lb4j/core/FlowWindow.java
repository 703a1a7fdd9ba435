package io.lb4j.core;

import io.lb4j.FlowKey;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The most recent new flows and where they went, for the uneven-distribution check: a ring of the
 * last {@link #CAPACITY} assignments. Recording is one counter increment and one array store per
 * new flow; hits on known flows record nothing.
 *
 * <p>Thread-safe.
 */
final class FlowWindow {
  /** How many new flows the window remembers. */
  static final int CAPACITY = 8192;

  /** One new flow: its key, the slot it was given, and when. */
  record Sample(FlowKey flow, BackendSlot slot, long atNanos) {}

  private final AtomicReferenceArray<Sample> ring = new AtomicReferenceArray<>(CAPACITY);
  private final AtomicLong next = new AtomicLong();

  void record(FlowKey flow, BackendSlot slot, long nowNanos) {
    int i = (int) (next.getAndIncrement() & (CAPACITY - 1));
    ring.lazySet(i, new Sample(flow, slot, nowNanos));
  }

  /** Returns the samples of {@code rule} no older than {@code sinceNanos}, oldest first. */
  List<Sample> recent(String rule, long sinceNanos) {
    long end = next.get();
    List<Sample> out = new ArrayList<>();
    for (long k = Math.max(0, end - CAPACITY); k < end; k++) {
      Sample s = ring.get((int) (k & (CAPACITY - 1)));
      if (s != null && s.slot().rule.equals(rule) && s.atNanos() - sinceNanos >= 0) {
        out.add(s);
      }
    }
    return out;
  }
}

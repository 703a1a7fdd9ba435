package io.lb4j.core;

import io.lb4j.FlowKey;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * One rule's most recent new flows and where they went, for the uneven-distribution check.
 *
 * <p>Recording allocates nothing and shares no counter between threads: the window is {@link
 * #STRIPES} rings, a thread records into the ring its id picks, and a ring entry is three plain
 * array stores (the caller's {@link FlowKey}, the slot, the time) between two writes of a sequence
 * number, as a seqlock does. A reader that sees the sequence change under it skips the entry, so it
 * never pairs one flow's key with another's backend. Two threads that share a ring may overwrite
 * each other's newest entry; the check reads a sample, not a ledger. Hits on known flows record
 * nothing.
 *
 * <p>Thread-safe.
 */
final class NewFlowWindow {
  /** How many new flows the window remembers in all. */
  static final int CAPACITY = 8192;

  /** Rings, a power of two: enough that the I/O threads of a proxy rarely share one. */
  static final int STRIPES = 8;

  private static final int PER_STRIPE = CAPACITY / STRIPES;
  private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

  /** One new flow: its key, the slot it was given, and when. */
  record Sample(FlowKey flow, BackendSlot slot, long atNanos) {}

  private final Stripe[] stripes = new Stripe[STRIPES];

  NewFlowWindow() {
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe();
    }
  }

  void record(FlowKey flow, BackendSlot slot, long nowNanos) {
    Stripe s = stripes[(int) Thread.currentThread().getId() & (STRIPES - 1)];
    int i = s.next++ & (PER_STRIPE - 1); // plain: a lost increment only overwrites an entry
    long seq = (long) LONGS.getOpaque(s.seq, i) + 1; // odd: being written
    LONGS.setOpaque(s.seq, i, seq);
    VarHandle.storeStoreFence();
    s.flows[i] = flow;
    s.slots[i] = slot;
    s.at[i] = nowNanos;
    LONGS.setRelease(s.seq, i, seq + 1);
  }

  /** Returns the samples no older than {@code sinceNanos}, in no particular order. */
  List<Sample> recent(long sinceNanos) {
    List<Sample> out = new ArrayList<>();
    for (Stripe s : stripes) {
      for (int i = 0; i < PER_STRIPE; i++) {
        long before = (long) LONGS.getAcquire(s.seq, i);
        if (before == 0 || (before & 1) != 0) {
          continue;
        }
        FlowKey flow = s.flows[i];
        BackendSlot slot = s.slots[i];
        long at = s.at[i];
        VarHandle.loadLoadFence();
        if ((long) LONGS.getOpaque(s.seq, i) == before && at - sinceNanos >= 0) {
          out.add(new Sample(flow, slot, at));
        }
      }
    }
    return out;
  }

  /** One ring; padded so two rings' counters do not share a cache line. */
  private static final class Stripe {
    @SuppressWarnings("unused")
    private long p1, p2, p3, p4, p5, p6, p7;

    int next;

    @SuppressWarnings("unused")
    private long q1, q2, q3, q4, q5, q6, q7;

    final long[] seq = new long[PER_STRIPE];
    final FlowKey[] flows = new FlowKey[PER_STRIPE];
    final BackendSlot[] slots = new BackendSlot[PER_STRIPE];
    final long[] at = new long[PER_STRIPE];
  }
}

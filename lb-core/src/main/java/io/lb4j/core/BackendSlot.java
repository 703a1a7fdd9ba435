package io.lb4j.core;

import io.lb4j.Selection;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One backend as one rule sees it: the answer to hand out, the count of flows pinned to it, and
 * whether it was disabled. Flows in the flow table point at their slot, so a slot outlives its
 * backend's removal from the pool for as long as flows remain on it.
 */
final class BackendSlot {
  final String backendId;
  final long idleTimeoutNanos;
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicInteger ruleTotal;

  /** The answer for flows on this backend; replaced when the backend's record changes. */
  volatile Selection selection;

  /** Whether the backend is {@code DISABLED}: its pinned flows are re-assigned on next use. */
  volatile boolean disabled;

  BackendSlot(String backendId, long idleTimeoutNanos, AtomicInteger ruleTotal) {
    this.backendId = backendId;
    this.idleTimeoutNanos = idleTimeoutNanos;
    this.ruleTotal = ruleTotal;
  }

  void acquire() {
    active.incrementAndGet();
    ruleTotal.incrementAndGet();
  }

  void release() {
    active.decrementAndGet();
    ruleTotal.decrementAndGet();
  }

  int active() {
    return active.get();
  }
}

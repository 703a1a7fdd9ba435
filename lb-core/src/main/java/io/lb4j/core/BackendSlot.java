package io.lb4j.core;

import io.lb4j.Backend;
import io.lb4j.HealthState;
import io.lb4j.Selection;
import io.lb4j.core.health.HealthProber;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * One backend as one rule sees it: the answer to hand out, the flows pinned to it, and its health
 * for the rule. Flows in the flow table point at their slot, so a slot outlives its backend's
 * removal from the pool for as long as flows remain on it.
 *
 * <p><b>Health has one source per input</b>: the probe's verdict lives only in the prober's {@link
 * HealthProber.Target} ({@link #target}), the operator's override only in {@link #backend}, the
 * passive ejection only in the ejection fields here. {@link #health} is derived from those three by
 * {@link PassiveHealth#effective} at each build and kept only to publish it and to tell a change
 * from the last build.
 *
 * <p>The data plane reads {@link #selection} and {@link #disabled} and touches the counters; every
 * other field belongs to the control plane and is guarded by {@link ControlPlane#lock}.
 */
final class BackendSlot {
  final String rule;
  final String backendId;
  volatile long idleTimeoutNanos;
  private final AtomicInteger active = new AtomicInteger();
  private final LongAdder ruleTotal;

  /** The answer for flows on this backend; replaced when the backend's record changes. */
  volatile Selection selection;

  /** Whether the backend is {@code DISABLED}: its pinned flows are re-assigned on next use. */
  volatile boolean disabled;

  /** Whether the backend took new flows in the last build. */
  volatile boolean inRotation;

  /** Connect failures in a row reported by the data plane. */
  final AtomicInteger connectFailures = new AtomicInteger();

  /** Whether an ejection decision is queued for the control plane. */
  final AtomicBoolean ejectionQueued = new AtomicBoolean();

  // Control plane, guarded by ControlPlane.lock.
  Backend backend;
  boolean member;
  HealthProber.Target target; // null without a probe
  HealthState health; // derived, as last published; null before the first build and when retired
  long ejectedUntilNanos; // 0 when not ejected
  boolean awaitingProbe;
  int ejections;
  long lastEjectionEndNanos;
  long lastEjectionNanos;
  int capRefusals; // ejections refused by maxEjectionPercent since the last warning
  ScheduledFuture<?> ejectionTask;
  ScheduledFuture<?> drainTask;
  Instant drainDeadline; // when drainTask closes the slot's flows, or null
  Duration drainTimeout; // the rule's drain timeout drainTask was armed with, or null

  BackendSlot(String rule, String backendId, long idleTimeoutNanos, LongAdder ruleTotal) {
    this.rule = rule;
    this.backendId = backendId;
    this.idleTimeoutNanos = idleTimeoutNanos;
    this.ruleTotal = ruleTotal;
  }

  void acquire() {
    active.incrementAndGet();
    ruleTotal.increment();
  }

  void release() {
    active.decrementAndGet();
    ruleTotal.decrement();
  }

  int active() {
    return active.get();
  }

  // ---------------------------------------------------------------- leases, under leaseLock

  private final Object leaseLock = new Object();
  private Leases.Held leaseHead;
  private int leaseCount;

  void addLease(Leases.Held held) {
    synchronized (leaseLock) {
      held.next = leaseHead;
      if (leaseHead != null) {
        leaseHead.prev = held;
      }
      leaseHead = held;
      leaseCount++;
    }
  }

  void removeLease(Leases.Held held) {
    synchronized (leaseLock) {
      if (held.prev != null) {
        held.prev.next = held.next;
      } else if (leaseHead == held) {
        leaseHead = held.next;
      } else {
        return; // not listed
      }
      if (held.next != null) {
        held.next.prev = held.prev;
      }
      held.prev = null;
      held.next = null;
      leaseCount--;
    }
  }

  /** Returns the leases held on this slot now. */
  java.util.List<Leases.Held> leases() {
    synchronized (leaseLock) {
      java.util.List<Leases.Held> out = new java.util.ArrayList<>(leaseCount);
      for (Leases.Held h = leaseHead; h != null; h = h.next) {
        out.add(h);
      }
      return out;
    }
  }

  /** Returns how many leases are held on this slot. */
  int leaseCount() {
    synchronized (leaseLock) {
      return leaseCount;
    }
  }

  boolean ejected() {
    return ejectedUntilNanos != 0;
  }

  /** Returns the probe's verdict, or HEALTHY without a probe. */
  HealthState probeState() {
    return target == null ? HealthState.HEALTHY : target.state();
  }
}

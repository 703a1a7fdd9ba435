package io.lb4j.core;

import io.lb4j.FlowKey;
import io.lb4j.Lease;
import io.lb4j.Selection;
import io.lb4j.core.flow.FlowTable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leases of one balancer: granting them on a slot, ending them by the balancer's events, and
 * reporting the ones that were garbage collected without {@code close()}.
 *
 * <p>A lease is two objects. The {@link Handle} is what the caller holds; its reachability is what
 * leak detection watches (a {@link Cleaner}). The {@link Held} state is what the slot lists and the
 * cleaner's action releases; it never refers to the handle, so a dropped handle becomes phantom
 * reachable while its slot still lists the state.
 *
 * <p>Thread-safe.
 */
final class Leases {
  static final Logger leakLogger = LoggerFactory.getLogger("io.lb4j.leak");
  private static final Cleaner CLEANER = Cleaner.create(daemonFactory());

  private final FlowTable<BackendSlot> flows;
  private final L4LoadBalancer.LeakDetection detection;
  private final LongAdder leaked = new LongAdder();

  Leases(FlowTable<BackendSlot> flows, L4LoadBalancer.LeakDetection detection) {
    this.flows = flows;
    this.detection = detection;
  }

  /** Returns how many leases were garbage collected without {@code close()}. */
  long leaked() {
    return leaked.sum();
  }

  /** Returns a lease granted nothing, for a refusal. */
  static Lease refused(String rule, Selection refusal, long hash, FlowKey flow) {
    return new Refused(rule, refusal, hash, flow);
  }

  /**
   * Grants a lease on {@code slot}; the caller has counted it as load ({@code slot.acquire()}) or,
   * for a flow, recorded the flow on the slot.
   */
  Lease grant(BackendSlot slot, long hash, FlowKey flow) {
    Held held = new Held(this, slot, hash, flow);
    if (detection == L4LoadBalancer.LeakDetection.PARANOID) {
      held.takenAt = new Throwable("the lease was taken here");
    }
    slot.addLease(held);
    Handle handle = new Handle(held);
    if (detection != L4LoadBalancer.LeakDetection.OFF) {
      held.cleanable = CLEANER.register(handle, held::leaked);
    }
    return handle;
  }

  /** Ends every lease on {@code slot} for {@code reason}, running their callbacks. */
  static int endAll(BackendSlot slot, String reason) {
    List<Held> held = slot.leases();
    int ended = 0;
    for (Held h : held) {
      if (h.end(reason, true)) {
        ended++;
      }
    }
    return ended;
  }

  /** What a lease holds: listed by its slot, released once. */
  static final class Held {
    private static final VarHandle STATE;

    static {
      try {
        STATE = MethodHandles.lookup().findVarHandle(Held.class, "state", int.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    final Leases leases;
    final BackendSlot slot;
    final Selection selection;
    final long hash;
    final FlowKey flow;
    Throwable takenAt;
    Cleaner.Cleanable cleanable;

    @SuppressWarnings("unused") // by STATE: 0 active, 1 ended
    private volatile int state;

    private volatile String endReason;
    private List<Consumer<String>> callbacks; // guarded by this

    // The slot's list, guarded by the slot's lease monitor.
    Held prev;
    Held next;

    Held(Leases leases, BackendSlot slot, long hash, FlowKey flow) {
      this.leases = leases;
      this.slot = slot;
      this.selection = slot.selection;
      this.hash = hash;
      this.flow = flow;
    }

    boolean active() {
      return state == 0;
    }

    String endReason() {
      return endReason;
    }

    /**
     * Releases the lease once: unlists it, gives back its load (or its flow), and, when the
     * balancer ends it, runs its callbacks. Returns whether this call released it.
     */
    boolean end(String reason, boolean byBalancer) {
      if (!STATE.compareAndSet(this, 0, 1)) {
        return false;
      }
      endReason = reason;
      slot.removeLease(this);
      if (flow == null) {
        slot.release();
      } else if (leases.flows.remove(flow, slot)) {
        slot.release();
      }
      if (cleanable != null) {
        cleanable.clean(); // unregisters: leaked() finds it ended and does nothing
      }
      if (byBalancer) {
        List<Consumer<String>> run;
        synchronized (this) {
          run = callbacks;
          callbacks = null;
        }
        if (run != null) {
          for (Consumer<String> c : run) {
            try {
              c.accept(reason);
            } catch (RuntimeException e) {
              leakLogger.warn("a lease's end callback failed", e);
            }
          }
        }
      }
      return true;
    }

    void onEnded(Consumer<String> callback) {
      synchronized (this) {
        if (active()) {
          if (callbacks == null) {
            callbacks = new ArrayList<>(1);
          }
          callbacks.add(callback);
          return;
        }
      }
      String reason = endReason;
      if (!"closed".equals(reason)) {
        callback.accept(reason);
      }
    }

    /** The cleaner's action: the handle became unreachable. */
    void leaked() {
      if (!active()) {
        return;
      }
      if (end("leaked: garbage collected without close()", false)) {
        leases.leaked.increment();
        String what =
            "LEAK: a lease of rule "
                + slot.rule
                + " on backend "
                + slot.backendId
                + (flow == null ? "" : " for flow " + flow)
                + " was garbage collected without close(); its load is released now";
        if (takenAt != null) {
          leakLogger.error(what, takenAt);
        } else {
          leakLogger.error(
              what
                  + ". Build the balancer with leaseLeakDetection(PARANOID) to see where it was"
                  + " taken.");
        }
      }
    }
  }

  /** The lease a caller holds. */
  static final class Handle implements Lease {
    private final Held held;

    Handle(Held held) {
      this.held = held;
    }

    @Override
    public Selection selection() {
      return held.selection;
    }

    @Override
    public String rule() {
      return held.slot.rule;
    }

    @Override
    public long hash() {
      return held.hash;
    }

    @Override
    public FlowKey flow() {
      return held.flow;
    }

    @Override
    public boolean isActive() {
      return held.active();
    }

    @Override
    public String endReason() {
      return held.endReason();
    }

    @Override
    public void onEnded(Consumer<String> callback) {
      held.onEnded(java.util.Objects.requireNonNull(callback, "callback"));
    }

    @Override
    public void touch() {
      FlowKey flow = held.flow;
      if (flow == null || !held.active()) {
        return;
      }
      FlowTable<BackendSlot> flows = held.leases.flows;
      if (flows.get(flow) == null) { // idled out while the connection was quiet: record it again
        BackendSlot slot = held.slot;
        slot.acquire();
        if (flows.putIfAbsent(flow, slot) != slot) {
          slot.release();
        }
      }
    }

    @Override
    public void close() {
      held.end("closed", false);
    }

    @Override
    public String toString() {
      return "Lease{"
          + held.slot.rule
          + " -> "
          + held.slot.backendId
          + (held.active() ? "" : ", ended: " + held.endReason())
          + "}";
    }
  }

  /** A lease granted nothing. */
  private record Refused(String rule, Selection selection, long hash, FlowKey flow)
      implements Lease {
    @Override
    public boolean isActive() {
      return false;
    }

    @Override
    public String endReason() {
      return "not granted: " + selection;
    }

    @Override
    public void onEnded(Consumer<String> callback) {}

    @Override
    public void touch() {}

    @Override
    public void close() {}
  }

  private static java.util.concurrent.ThreadFactory daemonFactory() {
    return r -> {
      Thread t = new Thread(r, "lb4j-lease-cleaner");
      t.setDaemon(true);
      return t;
    };
  }
}

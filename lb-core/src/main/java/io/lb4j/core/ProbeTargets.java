package io.lb4j.core;

import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.ProbeResult;
import io.lb4j.ProberStats;
import io.lb4j.core.health.HealthProber;
import io.lb4j.core.health.NioHealthChecker;
import io.lb4j.spi.HealthChecker;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The prober's targets and the slots that follow them. Rules that probe the same address with the
 * same probe share one target, so a backend in three rules is probed once. A probe result changes
 * the health of every slot that follows the target: the control plane rebuilds their rules.
 *
 * <p>The prober (and its checker, unless one was given) is created with the first probe and closed
 * with the balancer.
 *
 * <p>Every probe result, whether or not it changes anything, also goes to the listeners' {@code
 * onProbeResult}, once per slot that follows the target, without the lock: {@link #observe} reads
 * the followers the last attach or detach published.
 *
 * <p>Not thread-safe: guarded by {@link ControlPlane#lock}; probe results arrive on the control
 * thread and take the lock. {@link #observe} alone runs without it, on the thread that completed
 * the probe.
 */
final class ProbeTargets {
  /** How the prober is made. */
  record Settings(HealthChecker checker, boolean ownsChecker, int historySize, long seed) {}

  private final ControlPlane control;
  private final Settings settings;
  private final Map<TargetKey, TargetRef> targets = new HashMap<>();

  /** The same refs by prober target, for {@link #observe}, which runs without the lock. */
  private final Map<HealthProber.Target, TargetRef> byTarget = new ConcurrentHashMap<>();

  private HealthProber prober;
  private boolean started;

  /** What the prober probes: a probe at an address. */
  private record TargetKey(String probe, InetSocketAddress address) {}

  /** A prober target and the slots that follow it. */
  private static final class TargetRef {
    final HealthProber.Target target;
    final Set<BackendSlot> slots = new HashSet<>();

    /** {@link #slots} as of the last change, for {@link #observe}; written under the lock. */
    volatile BackendSlot[] followers = new BackendSlot[0];

    TargetRef(HealthProber.Target target) {
      this.target = target;
    }

    void publish() {
      followers = slots.toArray(new BackendSlot[0]);
    }
  }

  ProbeTargets(ControlPlane control, Settings settings) {
    this.control = control;
    this.settings = settings;
  }

  /** Returns the checker that probes, and that diagnostics connect with. */
  HealthChecker checker() {
    return settings.checker;
  }

  void start() {
    started = true;
    if (prober != null) {
      prober.start();
    }
  }

  ProberStats stats() {
    return prober == null ? ProberStats.NONE : prober.stats();
  }

  void close() {
    if (prober != null) {
      prober.close();
    }
    if (settings.ownsChecker && settings.checker instanceof NioHealthChecker) {
      ((NioHealthChecker) settings.checker).close();
    }
  }

  /** Points the slot at the target of (probe, address), or at none when {@code probe} is null. */
  void attach(BackendSlot slot, HealthProbe probe, InetSocketAddress dataTarget) {
    TargetKey key = null;
    if (probe != null) {
      InetSocketAddress address =
          probe.port() == 0
              ? dataTarget
              : new InetSocketAddress(dataTarget.getAddress(), probe.port());
      key = new TargetKey(probe.name(), address);
    }
    TargetKey current =
        slot.target == null
            ? null
            : new TargetKey(slot.target.probe().name(), slot.target.address());
    if (Objects.equals(key, current) || control.closedLocked()) {
      return;
    }
    detach(slot);
    if (key == null) {
      return;
    }
    TargetRef ref = targets.get(key);
    if (ref == null) {
      ref = new TargetRef(prober().add(key.address(), probe));
      targets.put(key, ref);
      byTarget.put(ref.target, ref);
    }
    ref.slots.add(slot);
    ref.publish();
    slot.target = ref.target;
  }

  /** Stops the slot following its target; a target no slot follows is no longer probed. */
  void detach(BackendSlot slot) {
    if (slot.target == null) {
      return;
    }
    TargetKey key = new TargetKey(slot.target.probe().name(), slot.target.address());
    TargetRef ref = targets.get(key);
    if (ref != null) {
      ref.slots.remove(slot);
      ref.publish();
      if (ref.slots.isEmpty()) {
        targets.remove(key);
        byTarget.remove(ref.target);
        prober.remove(ref.target);
      }
    }
    slot.target = null;
  }

  private HealthProber prober() {
    if (prober == null) {
      prober =
          HealthProber.builder()
              .checker(settings.checker)
              .scheduler(control.schedulerLocked())
              .ticker(control.ticker)
              .clock(control.clock)
              .historySize(settings.historySize)
              .seed(settings.seed)
              .listener(this::onResult)
              .observer(this::observe)
              .build();
      if (started) {
        prober.start(); // the first probe came with a later change of the configuration
      }
    }
    return prober;
  }

  /**
   * Every probe result: tells the listeners once per slot that follows the target. Without the
   * lock, on the thread that completed the probe; a slot that detached a moment ago may still hear
   * it.
   */
  private void observe(HealthProber.Target target, ProbeResult result) {
    TargetRef ref = byTarget.get(target);
    if (ref == null) {
      return;
    }
    for (BackendSlot slot : ref.followers) {
      control.probeResult(slot.rule, slot.backendId, result);
    }
  }

  /** A probe result: rebuilds the rules of the slots whose health it may change. */
  private void onResult(
      HealthProber.Target target, ProbeResult result, HealthState before, HealthState after) {
    synchronized (control.lock) {
      TargetRef ref = targets.get(new TargetKey(target.probe().name(), target.address()));
      if (ref == null || ref.target != target) {
        return;
      }
      Set<String> changed = new HashSet<>();
      for (BackendSlot slot : ref.slots) {
        boolean returns = control.passive.onProbeResult(slot, result);
        // an ejected slot's verdict decides whether it is a retry's last resort (RuleState)
        boolean lastResort = slot.ejected() && before != after;
        if (returns || lastResort || PassiveHealth.effective(slot) != slot.health) {
          changed.add(slot.rule);
        }
      }
      if (!changed.isEmpty()) {
        control.rebuild(changed);
      }
    }
  }
}

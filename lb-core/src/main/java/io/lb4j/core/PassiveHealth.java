package io.lb4j.core;

import io.lb4j.Durations;
import io.lb4j.FlowKey;
import io.lb4j.HealthOverride;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancingRule;
import io.lb4j.OutlierDetection;
import io.lb4j.ProbeResult;
import io.lb4j.Rule;
import io.lb4j.UnhealthyFlowPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A backend's health for a rule beyond its probe: the operator's override, passive ejection after
 * connect failures (Envoy's outlier detection: {@link OutlierDetection}), and the drain deadline
 * that closes an unhealthy backend's flows under {@link
 * UnhealthyFlowPolicy#CLOSE_AFTER_DRAIN_TIMEOUT}. {@link #effective} is the one place that turns
 * override, ejection and probe verdict into the health a rule uses.
 *
 * <p>Ejection decisions and their ends run on the control thread and take {@link
 * ControlPlane#lock}; the data plane only counts failures ({@link #onConnectFailure}).
 *
 * <p>Thread-safe: every method but {@link #onConnectFailure} runs under the control plane's lock.
 */
final class PassiveHealth {
  private static final Logger logger = LoggerFactory.getLogger(PassiveHealth.class);

  private final ControlPlane control;

  PassiveHealth(ControlPlane control) {
    this.control = control;
  }

  /** Returns the slot's health for its rule, from override, ejection and probe, in that order. */
  static HealthState effective(BackendSlot slot) {
    HealthOverride o = slot.backend.healthOverride();
    if (o == HealthOverride.FORCE_UP) {
      return HealthState.HEALTHY;
    }
    if (o == HealthOverride.FORCE_DOWN || slot.ejected()) {
      return HealthState.UNHEALTHY;
    }
    return slot.probeState();
  }

  /**
   * Returns whether passive ejection is all that keeps the slot from being healthy: ejected, its
   * probe passing (or no probe), no override. Such a slot is a retry's last resort and stays in
   * rotation when nothing else would; under the lock.
   */
  static boolean ejectedOnly(BackendSlot slot) {
    return slot.ejected()
        && slot.backend.healthOverride() == HealthOverride.FOLLOW_PROBE
        && slot.probeState() == HealthState.HEALTHY;
  }

  /** Returns why the slot has its health, for events and diagnostics; under the lock. */
  String cause(BackendSlot slot, Rule rule) {
    HealthOverride o = slot.backend.healthOverride();
    if (o != HealthOverride.FOLLOW_PROBE) {
      return "health override " + o;
    }
    if (slot.ejected() && rule instanceof LoadBalancingRule) {
      OutlierDetection od = ((LoadBalancingRule) rule).outlierDetection();
      return slot.awaitingProbe
          ? "passive: ejection over, waiting for a passing probe"
          : "passive: "
              + od.consecutiveFailures()
              + " connect failures in a row; ejected for "
              + Durations.format(Duration.ofNanos(slot.lastEjectionNanos))
              + " (ejection "
              + slot.ejections
              + ")";
    }
    if (slot.target == null) {
      return "no probe";
    }
    ProbeResult last = slot.target.lastResult();
    if (last == null) {
      return "not probed yet";
    }
    return last.isSuccess()
        ? "probe passed: " + last
        : "probe: " + slot.target.consecutiveFailures() + " failures in a row, last " + last;
  }

  /** Returns when the slot's ejection ends, or null; under the lock. */
  Instant ejectedUntil(BackendSlot slot) {
    if (!slot.ejected()) {
      return null;
    }
    long now = control.ticker.read();
    return control.clock.instant().plusNanos(Math.max(0, slot.ejectedUntilNanos - now));
  }

  // ---------------------------------------------------------------- ejection

  /** Counts a connect failure; queues an ejection decision at the threshold. Any thread. */
  void onConnectFailure(RuleState rule, BackendSlot slot) {
    int threshold = rule.outlierDetection.consecutiveFailures();
    if (threshold > 0
        && slot.connectFailures.incrementAndGet() >= threshold
        && slot.ejectionQueued.compareAndSet(false, true)) {
      control.onControlThread(() -> eject(slot));
    }
  }

  private void eject(BackendSlot slot) {
    synchronized (control.lock) {
      slot.ejectionQueued.set(false);
      Rule r = control.configLocked().rule(slot.rule);
      if (control.closedLocked()
          || !(r instanceof LoadBalancingRule)
          || !slot.member
          || slot.ejected()) {
        return;
      }
      OutlierDetection od = ((LoadBalancingRule) r).outlierDetection();
      if (!od.isEnabled() || slot.backend.healthOverride() == HealthOverride.FORCE_UP) {
        return;
      }
      int failures = slot.connectFailures.get();
      if (failures < od.consecutiveFailures()) {
        // a connect succeeded after the decision was queued and ended the run: nothing to decide
        // (deciding anyway once logged "failed 0 connects in a row")
        return;
      }
      int ejected = 0;
      int members = 0;
      for (BackendSlot s : control.slotsLocked(slot.rule).values()) {
        if (s.member) {
          members++;
          ejected += s.ejected() ? 1 : 0;
        }
      }
      int allowed = Math.max(1, members * od.maxEjectionPercent() / 100);
      if (ejected >= allowed) {
        if (slot.capRefusals++ == 0) {
          logger.warn(
              "backend {} of rule {} failed {} connects in a row but is not ejected: {} of {}"
                  + " backends are ejected already (maxEjectionPercent {}); it stays in rotation and"
                  + " connect retries move on from it. Further refusals are counted and logged"
                  + " when its health changes",
              slot.backendId,
              slot.rule,
              failures,
              ejected,
              members,
              od.maxEjectionPercent());
        } else {
          logger.debug(
              "backend {} of rule {}: ejection refused by maxEjectionPercent, {} times in a row",
              slot.backendId,
              slot.rule,
              slot.capRefusals);
        }
        slot.connectFailures.set(0);
        return;
      }
      endCapEpisode(slot, "ejected now");
      long now = control.ticker.read();
      if (slot.lastEjectionEndNanos != 0
          && now - slot.lastEjectionEndNanos > slot.lastEjectionNanos) {
        slot.ejections = 0; // quiet for as long as the last ejection: start over
      }
      slot.ejections++;
      long duration =
          Math.min(
              od.baseEjectionTime().toNanos() * slot.ejections, od.maxEjectionTime().toNanos());
      slot.lastEjectionNanos = duration;
      slot.ejectedUntilNanos = now + duration;
      slot.awaitingProbe = false;
      slot.ejectionTask =
          control
              .schedulerLocked()
              .schedule(() -> ejectionOver(slot), duration, TimeUnit.NANOSECONDS);
      control.rebuild(Set.of(slot.rule));
      control.ejected(slot.rule, slot.backendId, Duration.ofNanos(duration));
    }
  }

  /**
   * Ends the slot's run of ejections refused by the cap, logging how many there were: one line per
   * run, when the slot is ejected or its health changes. Under the lock.
   */
  void endCapEpisode(BackendSlot slot, String why) {
    if (slot.capRefusals > 1) {
      logger.info(
          "backend {} of rule {}: {} ejections were refused by maxEjectionPercent since the first"
              + " warning; {}",
          slot.backendId,
          slot.rule,
          slot.capRefusals,
          why);
    }
    slot.capRefusals = 0;
  }

  private void ejectionOver(BackendSlot slot) {
    synchronized (control.lock) {
      if (control.closedLocked() || !slot.ejected()) {
        return;
      }
      if (slot.target != null && slot.backend.healthOverride() == HealthOverride.FOLLOW_PROBE) {
        slot.awaitingProbe = true; // returns with its next passing probe
        slot.target.notifyNextResult();
        logger.info(
            "ejection of backend {} of rule {} is over; it returns with its next passing probe",
            slot.backendId,
            slot.rule);
      } else {
        endEjection(slot);
        control.rebuild(Set.of(slot.rule));
      }
    }
  }

  /** Ends the slot's ejection; the caller rebuilds. Under the lock. */
  void endEjection(BackendSlot slot) {
    slot.ejectedUntilNanos = 0;
    slot.awaitingProbe = false;
    slot.lastEjectionEndNanos = control.ticker.read();
    slot.connectFailures.set(0);
  }

  /**
   * Handles a probe result for an ejected slot waiting for a pass: returns whether the slot comes
   * back (its ejection ended). Under the lock.
   */
  boolean onProbeResult(BackendSlot slot, ProbeResult result) {
    if (!slot.awaitingProbe) {
      return false;
    }
    if (!result.isSuccess()) {
      slot.target.notifyNextResult(); // still waiting for a pass
      return false;
    }
    endEjection(slot);
    return true;
  }

  // ---------------------------------------------------------------- drain deadline

  /**
   * Arms, keeps or cancels the slot's drain deadline after a build: armed while the slot is
   * UNHEALTHY, or removed from the pool with flows left, under a rule with {@link
   * UnhealthyFlowPolicy#CLOSE_AFTER_DRAIN_TIMEOUT}, whether the state or the policy changed last;
   * an armed deadline is kept across unrelated builds. Under the lock.
   */
  void scheduleDrain(BackendSlot slot, LoadBalancingRule rule) {
    boolean covered = slot.member ? slot.health == HealthState.UNHEALTHY : slot.active() > 0;
    boolean wanted =
        covered
            && rule.unhealthyFlowPolicy() == UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT
            && !control.closedLocked();
    if (slot.drainTask != null && (!wanted || !rule.drainTimeout().equals(slot.drainTimeout))) {
      cancelDrain(slot);
    }
    if (wanted && slot.drainTask == null) {
      slot.drainTimeout = rule.drainTimeout();
      slot.drainDeadline = control.clock.instant().plus(rule.drainTimeout());
      slot.drainTask =
          control
              .schedulerLocked()
              .schedule(
                  () -> drainUnhealthy(slot), rule.drainTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  /** Stops ejection and drain of a slot leaving its rule. Under the lock. */
  void retire(BackendSlot s) {
    s.ejectedUntilNanos = 0;
    s.awaitingProbe = false;
    if (s.ejectionTask != null) {
      s.ejectionTask.cancel(false);
    }
    cancelDrain(s);
  }

  private static void cancelDrain(BackendSlot s) {
    if (s.drainTask != null) {
      s.drainTask.cancel(false);
    }
    s.drainTask = null;
    s.drainDeadline = null;
    s.drainTimeout = null;
  }

  private void drainUnhealthy(BackendSlot slot) {
    List<FlowKey> ended = new ArrayList<>();
    Duration timeout;
    boolean removed;
    synchronized (control.lock) {
      timeout = slot.drainTimeout;
      slot.drainTask = null;
      slot.drainDeadline = null;
      slot.drainTimeout = null;
      removed = !slot.member;
      if (control.closedLocked() || (slot.member && slot.health != HealthState.UNHEALTHY)) {
        return;
      }
      control.flows.forEach(
          (flow, s) -> {
            if (s == slot) {
              ended.add(flow);
            }
          });
      ended.removeIf(flow -> !control.flows.remove(flow, slot));
      for (int i = 0; i < ended.size(); i++) {
        slot.release();
      }
    }
    String reason =
        (removed ? "backend removed from the pool" : "backend unhealthy")
            + " for the rule's drain timeout ("
            + Durations.format(timeout)
            + ")";
    int leases = Leases.endAll(slot, reason);
    if (leases > 0) {
      logger.info(
          "ended {} leases of backend {} of rule {}: {}",
          leases,
          slot.backendId,
          slot.rule,
          reason);
    }
    if (!ended.isEmpty()) {
      logger.info(
          "ended {} flows of backend {} of rule {}: {}",
          ended.size(),
          slot.backendId,
          slot.rule,
          reason);
      control.flowsEnded(slot.rule, slot.backendId, ended, reason);
    }
  }
}

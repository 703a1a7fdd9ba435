package io.lb4j.core;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.DistributionMode;
import io.lb4j.HealthEvent;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.NoHealthyBackendPolicy;
import io.lb4j.OutlierDetection;
import io.lb4j.Selection;
import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import java.net.InetSocketAddress;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds one rule's {@link RuleState} from the configuration and its slots: each backend's answer,
 * its health for the rule (from {@link PassiveHealth#effective}), who is in rotation under the
 * rule's no-healthy-backend policy, the selector over their weights, and the precomputed refusals.
 * Runs under {@link ControlPlane#lock}; the health events of the build are collected for the
 * control plane to deliver after publishing.
 *
 * <p>Not thread-safe: guarded by the control plane's lock.
 */
final class RuleBuilder {
  private static final Logger logger = LoggerFactory.getLogger(RuleBuilder.class);

  /** What keeps a backend out of rotation, in the order of the "none available" message. */
  private static final String[] OUT_REASONS = {
    "unhealthy", "draining", "disabled", "weight 0", "not probed yet"
  };

  private static final int UNHEALTHY = 0;
  private static final int DRAINING = 1;
  private static final int DISABLED = 2;
  private static final int WEIGHT_ZERO = 3;
  private static final int NOT_PROBED = 4;

  private final ControlPlane control;

  RuleBuilder(ControlPlane control) {
    this.control = control;
  }

  /** Builds a load-balancing rule, adding a health event for each backend whose health changed. */
  RuleState build(
      LoadBalancingRule rule, ControlPlane.RuleSlots registry, List<HealthEvent> events) {
    LoadBalancerConfig config = control.configLocked();
    BackendPool pool = config.pool(rule.backendPool());
    List<Backend> backends = pool.backends();
    HealthProbe probe = rule.probe() == null ? null : config.probe(rule.probe());
    BackendSlot[] slots =
        control.slots(rule.name(), registry, rule.idleTimeout().toNanos(), backends);
    for (BackendSlot departed : registry.byId.values()) {
      if (!departed.member) {
        control.passive.scheduleDrain(departed, rule); // removed, flows remain: the policy holds
      }
    }
    String[] keys = new String[backends.size()];
    int[] healthy = new int[backends.size()];
    int[] candidates = new int[backends.size()];
    int[] ejectedOnly = new int[backends.size()]; // healthy but for passive ejection
    int[] out = new int[OUT_REASONS.length];
    int healthyCount = 0;
    int candidateCount = 0;
    int ejectedOnlyCount = 0;
    for (int i = 0; i < keys.length; i++) {
      Backend b = backends.get(i);
      BackendSlot slot = slots[i];
      keys[i] = b.id();
      slot.backend = b;
      InetSocketAddress target = b.target(rule.backendPort());
      slot.selection = Selection.selected(rule.name(), b, target);
      slot.disabled = b.adminState() == AdminState.DISABLED;
      control.probes.attach(slot, probe, target);
      HealthState state = PassiveHealth.effective(slot);
      if (slot.health != state) {
        if (slot.health != null) {
          events.add(
              new HealthEvent(
                  control.clock.instant(),
                  rule.name(),
                  b.id(),
                  slot.health,
                  state,
                  control.passive.cause(slot, rule),
                  slot.target == null ? null : slot.target.lastResult()));
        }
        slot.health = state;
        control.passive.endCapEpisode(slot, "now " + state);
      }
      control.passive.scheduleDrain(slot, rule);
      boolean serving = b.adminState() == AdminState.ENABLED && b.weight() > 0;
      if (serving) {
        candidates[i] = b.weight();
        candidateCount++;
        if (PassiveHealth.ejectedOnly(slot)) {
          ejectedOnly[i] = b.weight();
          ejectedOnlyCount++;
        }
      }
      if (b.adminState() == AdminState.DISABLED) {
        out[DISABLED]++;
      } else if (b.adminState() == AdminState.DRAINING) {
        out[DRAINING]++;
      } else if (state == HealthState.UNKNOWN) {
        out[NOT_PROBED]++;
      } else if (state != HealthState.HEALTHY) {
        out[UNHEALTHY]++;
      } else if (b.weight() == 0) {
        out[WEIGHT_ZERO]++;
      } else {
        healthy[i] = b.weight();
        healthyCount++;
      }
    }
    if (healthyCount == 0 && ejectedOnlyCount > 0) {
      // passive health must not do worse than none: rather the ejected backends whose probes pass
      // than nothing (Envoy's max_ejection_percent serves the same end)
      healthy = ejectedOnly;
      healthyCount = ejectedOnlyCount;
      logger.debug(
          "rule {}: only ejected backends would be left; {} of them stay in rotation",
          rule.name(),
          ejectedOnlyCount);
    }
    int[] weights = healthy;
    if (candidateCount > 0 && healthyCount < candidateCount) {
      NoHealthyBackendPolicy policy = rule.noHealthyBackendPolicy();
      boolean failOpen = policy == NoHealthyBackendPolicy.FAIL_OPEN && healthyCount == 0;
      boolean panic =
          policy == NoHealthyBackendPolicy.PANIC
              && healthyCount * 100 < rule.panicThresholdPercent() * candidateCount;
      if (failOpen || panic) {
        weights = candidates;
        logger.debug(
            "rule {}: {} of {} backends healthy; {} spreads new flows over all of them",
            rule.name(),
            healthyCount,
            candidateCount,
            policy);
      }
    }
    int rotationCount = 0;
    int lastResortCount = 0;
    for (int i = 0; i < slots.length; i++) {
      slots[i].inRotation = weights[i] > 0;
      rotationCount += weights[i] > 0 ? 1 : 0;
      lastResortCount += weights[i] == 0 && ejectedOnly[i] > 0 ? 1 : 0;
    }
    int[] rotation = new int[rotationCount];
    int[] lastResort = new int[lastResortCount];
    rotationCount = 0;
    lastResortCount = 0;
    for (int i = 0; i < slots.length; i++) {
      if (weights[i] > 0) {
        rotation[rotationCount++] = i;
      } else if (ejectedOnly[i] > 0) {
        lastResort[lastResortCount++] = i;
      }
    }
    BackendSelector selector =
        Selectors.of(
            rule.selection(),
            keys,
            weights,
            i -> slots[i].active(),
            () -> (int) registry.total.sum());
    Selection none;
    if (backends.isEmpty()) {
      none =
          Selection.none(
              Selection.Status.NO_BACKEND,
              rule.name(),
              rule.name() + ": pool '" + pool.name() + "' has no backends");
    } else {
      none =
          Selection.none(
              Selection.Status.NO_AVAILABLE_BACKEND,
              rule.name(),
              rule.name()
                  + ": pool '"
                  + pool.name()
                  + "' has "
                  + backends.size()
                  + (backends.size() == 1 ? " backend" : " backends")
                  + ", none available ("
                  + reasons(out)
                  + ")");
    }
    return new RuleState(
        rule.name(),
        false,
        config.frontend(rule.frontend()),
        rule.protocol(),
        rule.frontendPort(),
        rule.distributionMode(),
        rule.outlierDetection(),
        slots,
        selector,
        rotation,
        lastResort,
        none,
        full(rule.name()),
        exhausted(rule.name(), rotation.length + lastResort.length),
        registry.window,
        fingerprint(
            rule.selection() + " " + rule.distributionMode(), // targets carry the ports
            slots,
            weights));
  }

  /**
   * Returns the fingerprint of a rule's selection: XXH64 of its parameters and of each backend in
   * rotation — id, weight, target — sorted by id, as the selectors sort them.
   */
  static long fingerprint(String parameters, BackendSlot[] slots, int[] weights) {
    java.util.TreeMap<String, String> inRotation = new java.util.TreeMap<>();
    for (int i = 0; i < slots.length; i++) {
      if (weights[i] > 0) {
        inRotation.put(
            slots[i].backendId,
            weights[i] + " " + io.lb4j.IpLiteral.format(slots[i].selection.target()));
      }
    }
    StringBuilder sb = new StringBuilder(parameters);
    inRotation.forEach((id, rest) -> sb.append('\n').append(id).append(' ').append(rest));
    return io.lb4j.core.hash.Hash64.xxHash64(
        sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8), 0);
  }

  /** Builds an inbound NAT rule: its one backend, while not DISABLED; no probe, no hashing. */
  RuleState build(InboundNatRule rule, ControlPlane.RuleSlots registry) {
    LoadBalancerConfig config = control.configLocked();
    // LoadBalancerConfig guarantees the backend exists, and removeBackend refuses to break that.
    Backend b = config.pool(rule.backendPool()).backend(rule.backend());
    BackendSlot[] slots =
        control.slots(rule.name(), registry, rule.idleTimeout().toNanos(), List.of(b));
    BackendSlot slot = slots[0];
    slot.backend = b;
    slot.health = HealthState.HEALTHY;
    slot.selection =
        Selection.selected(rule.name(), b, new InetSocketAddress(b.address(), rule.backendPort()));
    slot.disabled = b.adminState() == AdminState.DISABLED;
    slot.inRotation = b.adminState() == AdminState.ENABLED;
    BackendSelector selector =
        b.adminState() == AdminState.ENABLED ? hash -> 0 : hash -> BackendSelector.NONE;
    Selection none =
        Selection.none(
            Selection.Status.NO_AVAILABLE_BACKEND,
            rule.name(),
            rule.name() + ": backend '" + b.id() + "' is " + b.adminState());
    return new RuleState(
        rule.name(),
        true,
        config.frontend(rule.frontend()),
        rule.protocol(),
        rule.frontendPort(),
        DistributionMode.FIVE_TUPLE,
        OutlierDetection.DISABLED,
        slots,
        selector,
        b.adminState() == AdminState.ENABLED ? new int[] {0} : new int[0],
        new int[0],
        none,
        full(rule.name()),
        exhausted(rule.name(), b.adminState() == AdminState.ENABLED ? 1 : 0),
        registry.window,
        fingerprint("NAT", slots, new int[] {b.adminState() == AdminState.ENABLED ? 1 : 0}));
  }

  private static Selection exhausted(String rule, int candidates) {
    return Selection.none(
        Selection.Status.NO_AVAILABLE_BACKEND,
        rule,
        rule
            + ": the flow tried every candidate for a retry ("
            + candidates
            + " in rotation or ejected only)");
  }

  private Selection full(String rule) {
    return Selection.none(
        Selection.Status.FLOW_TABLE_FULL,
        rule,
        rule
            + ": the flow table is full ("
            + control.flows.capacity()
            + " flows); new flows are refused, established flows are kept");
  }

  private static String reasons(int[] out) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < OUT_REASONS.length; i++) {
      if (out[i] > 0) {
        sb.append(sb.length() == 0 ? "" : ", ").append(out[i]).append(' ').append(OUT_REASONS[i]);
      }
    }
    return sb.toString();
  }
}

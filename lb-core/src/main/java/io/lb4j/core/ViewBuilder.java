package io.lb4j.core;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.FlowExplanation.Exclusion;
import io.lb4j.FlowKey;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeResult;
import io.lb4j.Rule;
import io.lb4j.core.diagnose.BackendView;
import io.lb4j.core.diagnose.BalancerView;
import io.lb4j.core.diagnose.RuleView;
import io.lb4j.core.select.Selectors;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Copies the control plane's state into the immutable {@link BalancerView} that diagnostics read:
 * rules, backends and health under {@link ControlPlane#lock}; then, outside it, one pass over the
 * flow table for each backend's sample flows and hairpin flows, and each rule's recent new flows.
 *
 * <p>Thread-safe: each call works on its own copies.
 */
final class ViewBuilder {
  /** How many of a backend's flows a view shows as examples. */
  static final int SAMPLE_FLOWS = 3;

  /** How far back the view's new-flow samples go. */
  static final Duration NEW_FLOW_WINDOW = Duration.ofMinutes(10);

  private ViewBuilder() {}

  /** One backend as seen under the lock, before its flows are known. */
  private static final class Partial {
    final BackendSlot slot;
    final BackendView base;
    final Set<InetAddress> poolAddresses;
    final List<FlowKey> samples = new ArrayList<>();
    final List<FlowKey> fromPool = new ArrayList<>();

    Partial(BackendSlot slot, BackendView base, Set<InetAddress> poolAddresses) {
      this.slot = slot;
      this.base = base;
      this.poolAddresses = poolAddresses;
    }

    BackendView complete() {
      BackendView b = base;
      return new BackendView(
          b.id(),
          b.backend(),
          b.target(),
          b.member(),
          b.health(),
          b.inRotation(),
          b.exclusion(),
          b.exclusionDetail(),
          b.cause(),
          b.active(),
          b.probeAddress(),
          b.results(),
          b.consecutiveFailures(),
          b.drainDeadline(),
          samples,
          fromPool);
    }
  }

  /** Returns the view; with {@code withFlows}, it walks the flow table once. */
  static BalancerView view(ControlPlane control, boolean withFlows) {
    Instant at;
    long nanos;
    LoadBalancerConfig config;
    List<RuleState> states;
    Map<String, List<Partial>> partials = new HashMap<>();
    Map<BackendSlot, Partial> bySlot = new IdentityHashMap<>();
    synchronized (control.lock) {
      at = control.clock.instant();
      nanos = control.ticker.read();
      config = control.configLocked();
      states = control.statesLocked();
      for (RuleState r : states) {
        Rule rule = config.rule(r.name);
        List<Partial> list = new ArrayList<>();
        Set<InetAddress> addresses = new HashSet<>();
        for (BackendSlot s : r.slots) {
          addresses.add(s.backend.address());
        }
        for (int i = 0; i < r.slots.length; i++) {
          list.add(partial(control, r, rule, r.slots[i], i, exclusion(r, i), addresses));
        }
        for (BackendSlot s : control.slotsLocked(r.name).values()) {
          if (!s.member) {
            list.add(partial(control, r, rule, s, -1, Exclusion.REMOVED, addresses));
          }
        }
        for (Partial p : list) {
          bySlot.put(p.slot, p);
        }
        partials.put(r.name, list);
      }
    }
    if (withFlows) {
      control.flows.forEach(
          (flow, slot) -> {
            Partial p = bySlot.get(slot);
            if (p == null) {
              return;
            }
            if (p.samples.size() < SAMPLE_FLOWS) {
              p.samples.add(flow);
            }
            if (p.poolAddresses.contains(flow.sourceAddress())) {
              p.fromPool.add(flow);
            }
          });
    }
    List<RuleView> rules = new ArrayList<>();
    for (RuleState r : states) {
      Rule rule = config.rule(r.name);
      List<BackendView> backends = new ArrayList<>();
      for (Partial p : partials.get(r.name)) {
        backends.add(p.complete());
      }
      List<RuleView.NewFlow> newFlows = new ArrayList<>();
      if (withFlows) {
        for (NewFlowWindow.Sample s : r.window.recent(nanos - NEW_FLOW_WINDOW.toNanos())) {
          newFlows.add(new RuleView.NewFlow(s.flow(), s.slot().backendId, s.atNanos()));
        }
      }
      HealthProbe probe =
          rule instanceof LoadBalancingRule && ((LoadBalancingRule) rule).probe() != null
              ? config.probe(((LoadBalancingRule) rule).probe())
              : null;
      rules.add(new RuleView(rule, probe, backends, newFlows));
    }
    return new BalancerView(at, nanos, config, rules);
  }

  private static Partial partial(
      ControlPlane control,
      RuleState r,
      Rule rule,
      BackendSlot s,
      int index,
      Exclusion exclusion,
      Set<InetAddress> addresses) {
    List<ProbeResult> results = s.target == null ? List.of() : s.target.results();
    BackendView base =
        new BackendView(
            s.backendId,
            s.backend,
            s.selection.target(),
            s.member,
            s.health == null ? HealthState.UNKNOWN : s.health,
            s.inRotation,
            exclusion,
            exclusion == null ? "" : detail(control, r, rule, s, exclusion, index),
            rule instanceof LoadBalancingRule ? control.passive.cause(s, rule) : "",
            s.active(),
            s.target == null ? null : s.target.address(),
            results,
            s.target == null ? 0 : s.target.consecutiveFailures(),
            s.drainDeadline,
            List.of(),
            List.of());
    return new Partial(s, base, addresses);
  }

  /** Why the slot at {@code index} takes no new flows, or null. */
  static Exclusion exclusion(RuleState rule, int index) {
    BackendSlot s = rule.slots[index];
    if (!s.member) {
      return Exclusion.REMOVED;
    }
    Backend b = s.backend;
    if (b.adminState() == AdminState.DISABLED) {
      return Exclusion.DISABLED;
    }
    if (b.adminState() == AdminState.DRAINING) {
      return Exclusion.DRAINING;
    }
    if (rule.nat) {
      return null;
    }
    if (b.weight() == 0) {
      return Exclusion.WEIGHT_ZERO;
    }
    if (!s.inRotation) {
      if (s.ejected()) {
        return Exclusion.EJECTED;
      }
      return s.health == HealthState.UNKNOWN ? Exclusion.NOT_PROBED_YET : Exclusion.UNHEALTHY;
    }
    if (Selectors.overBound(rule.selector, index, s.active()) != null) {
      return Exclusion.FULL;
    }
    return null;
  }

  private static String detail(
      ControlPlane control, RuleState r, Rule rule, BackendSlot s, Exclusion why, int index) {
    switch (why) {
      case REMOVED:
        return "removed from the pool; "
            + s.active()
            + (s.active() == 1 ? " established flow remains" : " established flows remain");
      case DISABLED:
        return "admin state DISABLED: no flows; pinned flows move on their next packet";
      case DRAINING:
        return "admin state DRAINING: established flows continue, new flows go elsewhere";
      case WEIGHT_ZERO:
        return "weight 0";
      case FULL:
        return Selectors.overBound(r.selector, index, s.active());
      case NOT_PROBED_YET:
        return "waiting for its first probe";
      default:
        return rule instanceof LoadBalancingRule ? control.passive.cause(s, rule) : "";
    }
  }
}

package io.lb4j.core;

import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.HealthEvent;
import io.lb4j.HealthState;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeResult;
import io.lb4j.ProberStats;
import io.lb4j.Rule;
import io.lb4j.core.flow.FlowTable;
import io.lb4j.spi.Ticker;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane of an {@link L4LoadBalancer}: it owns the lock, the configuration, every rule's
 * backend slots and the snapshot the data plane reads.
 *
 * <p>Every change — a new configuration, a backend added, removed or re-weighted, an admin state or
 * override, a probe's verdict ({@link ProbeTargets}), an ejection or its end ({@link
 * PassiveHealth}) — takes {@link #lock}, rebuilds the rules it touches with {@link RuleBuilder},
 * and publishes a new {@link Snapshot} with one volatile write; then the health events of the build
 * go to the listeners. Nothing outside this class and its helpers in this package reads the slots'
 * control-plane fields: diagnostics get an immutable {@link io.lb4j.core.diagnose.BalancerView}
 * from {@link ViewBuilder}.
 *
 * <p>The control thread (the probe scheduler) runs probes, ejections, their ends and drain
 * deadlines; it is created on first use unless one was given.
 *
 * <p>Thread-safe.
 */
final class ControlPlane {
  private static final Logger logger = LoggerFactory.getLogger(ControlPlane.class);

  /** Guards every control-plane field here, in the slots and in the helpers. */
  final Object lock = new Object();

  final FlowTable<BackendSlot> flows;
  final Ticker ticker;
  final InstantSource clock;
  private final List<LoadBalancerListener> listeners = new CopyOnWriteArrayList<>();
  private final RuleBuilder builder;
  final ProbeTargets probes;
  final PassiveHealth passive;
  private final boolean ownsScheduler;
  final Discoveries discoveries;

  // Guarded by lock.
  private LoadBalancerConfig config;
  private final Map<String, RuleSlots> slotsByRule = new HashMap<>();
  private final Map<String, RuleState> states = new LinkedHashMap<>();
  private ScheduledExecutorService scheduler;
  private boolean closed;

  /** Where each new snapshot goes: the data plane's one volatile field. */
  private final Consumer<Snapshot> publish;

  /** A rule's slots by backend id, with what outlives one build of the rule. */
  static final class RuleSlots {
    final Map<String, BackendSlot> byId = new HashMap<>();
    final LongAdder total = new LongAdder();
    final NewFlowWindow window = new NewFlowWindow();
  }

  ControlPlane(
      LoadBalancerConfig config,
      FlowTable<BackendSlot> flows,
      Ticker ticker,
      InstantSource clock,
      ScheduledExecutorService scheduler,
      ProbeTargets.Settings probeSettings,
      Consumer<Snapshot> publish) {
    this.config = config;
    this.publish = publish;
    this.flows = flows;
    this.ticker = ticker;
    this.clock = clock;
    this.scheduler = scheduler;
    this.ownsScheduler = scheduler == null;
    this.probes = new ProbeTargets(this, probeSettings);
    this.passive = new PassiveHealth(this);
    this.builder = new RuleBuilder(this);
    this.discoveries = new Discoveries(this, clock);
  }

  /** Builds every rule and starts probing. */
  void start() {
    synchronized (lock) {
      rebuild(new HashSet<>(config.ruleNames()));
      probes.start();
    }
  }

  // ---------------------------------------------------------------- reads

  LoadBalancerConfig config() {
    synchronized (lock) {
      return config;
    }
  }

  /** Returns the configuration; the caller holds the lock. */
  LoadBalancerConfig configLocked() {
    return config;
  }

  boolean closedLocked() {
    return closed;
  }

  /** Returns the slots of {@code rule} by backend id, members and departed ones; under the lock. */
  Map<String, BackendSlot> slotsLocked(String rule) {
    RuleSlots r = slotsByRule.get(rule);
    return r == null ? Map.of() : r.byId;
  }

  /** Returns the rules as built, in configuration order; under the lock. */
  List<RuleState> statesLocked() {
    return new ArrayList<>(states.values());
  }

  /** Returns the slot of a backend of a rule, or null; under the lock. */
  private BackendSlot slotLocked(String rule, String backendId) {
    RuleSlots slots = slotsByRule.get(rule);
    if (slots == null) {
      throw new IllegalArgumentException(unknownRule(rule));
    }
    return slots.byId.get(backendId);
  }

  int activeFlows(String rule, String backendId) {
    synchronized (lock) {
      BackendSlot slot = slotLocked(rule, backendId);
      return slot == null ? 0 : slot.active();
    }
  }

  BackendHealth health(String rule, String backendId) {
    synchronized (lock) {
      BackendSlot slot = slotLocked(rule, backendId);
      if (slot == null || !slot.member) {
        throw new IllegalArgumentException(
            unknownBackend(config.pool(config.rule(rule).backendPool()), backendId));
      }
      return new BackendHealth(
          rule,
          backendId,
          slot.health,
          slot.backend.healthOverride(),
          passive.ejectedUntil(slot),
          slot.connectFailures.get(),
          slot.inRotation,
          slot.target == null ? List.of() : slot.target.results());
    }
  }

  ProberStats proberStats() {
    synchronized (lock) {
      return probes.stats();
    }
  }

  // ---------------------------------------------------------------- changes

  void reconfigure(LoadBalancerConfig next) {
    Objects.requireNonNull(next, "config");
    synchronized (lock) {
      next = discoveries.keepDiscoveredLocked(next);
      Set<String> after = new HashSet<>(next.ruleNames());
      for (String gone : config.ruleNames()) {
        if (!after.contains(gone)) {
          states.remove(gone);
          RuleSlots slots = slotsByRule.get(gone);
          if (slots != null) {
            for (BackendSlot s : slots.byId.values()) {
              retire(s);
            }
            slots.byId.values().removeIf(s -> s.active() == 0);
          }
        }
      }
      config = next;
      rebuild(after);
      logger.info("reconfigured: rules {}", next.ruleNames());
    }
    reconfigured();
  }

  void addBackend(String pool, Backend backend) {
    Objects.requireNonNull(backend, "backend");
    synchronized (lock) {
      BackendPool p = pool(pool);
      boolean replaced = p.backend(backend.id()) != null;
      config = config.withPool(p.withBackend(backend));
      rebuild(rulesOfPool(pool));
      logger.info("{} backend {} in pool {}", replaced ? "replaced" : "added", backend, pool);
    }
    reconfigured();
  }

  boolean removeBackend(String pool, String backendId) {
    Objects.requireNonNull(backendId, "backendId");
    synchronized (lock) {
      BackendPool p = pool(pool);
      if (p.backend(backendId) == null) {
        return false;
      }
      for (InboundNatRule nat : config.inboundNatRules()) {
        if (nat.backendPool().equals(pool) && nat.backend().equals(backendId)) {
          throw new IllegalArgumentException(
              "backendId: '"
                  + backendId
                  + "' is the target of inbound NAT rule '"
                  + nat.name()
                  + "' (expected: a backend no NAT rule names; drain it with"
                  + " setAdminState(DRAINING) instead)");
        }
      }
      config = config.withPool(p.withoutBackend(backendId));
      rebuild(rulesOfPool(pool));
      logger.info(
          "removed backend {} from pool {}; its established flows continue", backendId, pool);
    }
    reconfigured();
    return true;
  }

  /** Changes one property of a backend, rebuilding the pool's rules if it really changed. */
  void changeBackend(
      String pool,
      String backendId,
      String property,
      Object value,
      Function<Backend, Object> current,
      UnaryOperator<Backend> change) {
    synchronized (lock) {
      Backend b = backend(pool, backendId);
      Object before = current.apply(b);
      Backend changed = change.apply(b); // validates the new value
      if (before.equals(value)) {
        return;
      }
      config = config.withPool(pool(pool).withBackend(changed));
      rebuild(rulesOfPool(pool));
      logger.info(
          "{} of backend {} in pool {}: {} -> {}", property, backendId, pool, before, value);
    }
    reconfigured();
  }

  /**
   * Replaces the backends of pool {@code pool} as one change, as a membership source's answer does:
   * added ones join, departed ones drain, the rest change in place. Under the lock; the caller
   * tells the listeners after it.
   */
  void replacePoolLocked(String pool, List<Backend> backends) {
    config = config.withPool(new BackendPool(pool, backends));
    rebuild(rulesOfPool(pool));
    logger.info("pool {}: {} members from its source", pool, backends.size());
  }

  /** Tells the listeners the configuration now in force; outside the lock. */
  void reconfigured() {
    LoadBalancerConfig now = config();
    for (LoadBalancerListener l : listeners) {
      try {
        l.onReconfigured(now);
      } catch (RuntimeException e) {
        logger.warn("listener failed on a reconfiguration", e);
      }
    }
  }

  /**
   * Tells the listeners a probe result of a backend of a rule; on the thread that completed the
   * probe, without the lock.
   */
  void probeResult(String rule, String backendId, ProbeResult result) {
    for (LoadBalancerListener l : listeners) {
      try {
        l.onProbeResult(rule, backendId, result);
      } catch (RuntimeException e) {
        logger.warn("listener failed on a probe result of {}/{}", rule, backendId, e);
      }
    }
  }

  /** Tells the listeners that passive health ejected a backend of a rule; under the lock. */
  void ejected(String rule, String backendId, Duration duration) {
    for (LoadBalancerListener l : listeners) {
      try {
        l.onEjection(rule, backendId, duration);
      } catch (RuntimeException e) {
        logger.warn("listener failed on the ejection of {}/{}", rule, backendId, e);
      }
    }
  }

  void addListener(LoadBalancerListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  boolean removeListener(LoadBalancerListener listener) {
    return listeners.remove(Objects.requireNonNull(listener, "listener"));
  }

  void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      probes.close();
      for (RuleSlots slots : slotsByRule.values()) {
        for (BackendSlot slot : slots.byId.values()) {
          Leases.endAll(slot, "balancer closed");
        }
      }
      if (ownsScheduler && scheduler != null) {
        scheduler.shutdownNow();
      }
      flows.clear();
      for (RuleSlots slots : slotsByRule.values()) {
        for (BackendSlot slot : slots.byId.values()) {
          while (slot.active() > 0) {
            slot.release();
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- building

  /** Rebuilds the named rules and publishes a snapshot of every rule; under the lock. */
  void rebuild(Set<String> names) {
    List<HealthEvent> events = new ArrayList<>();
    for (Rule r : config.rules()) {
      if (names.contains(r.name())) {
        RuleSlots slots = slotsByRule.computeIfAbsent(r.name(), n -> new RuleSlots());
        RuleState state =
            r instanceof LoadBalancingRule
                ? builder.build((LoadBalancingRule) r, slots, events)
                : builder.build((InboundNatRule) r, slots);
        states.put(r.name(), state);
      }
    }
    List<RuleState> ordered = new ArrayList<>();
    for (Rule r : config.rules()) {
      RuleState s = states.get(r.name());
      if (s != null) {
        ordered.add(s);
      }
    }
    publish.accept(new Snapshot(ordered.toArray(new RuleState[0])));
    for (String name : names) {
      RuleSlots slots = slotsByRule.get(name);
      if (slots != null) {
        for (BackendSlot slot : slots.byId.values()) {
          if (slot.disabled && slot.leaseCount() > 0) {
            int n = Leases.endAll(slot, "backend DISABLED");
            logger.info(
                "ended {} leases of backend {} of rule {}: DISABLED", n, slot.backendId, name);
          }
        }
      }
    }
    for (HealthEvent e : events) {
      if (e.to() == HealthState.UNHEALTHY) {
        logger.warn("{}", e);
      } else {
        logger.info("{}", e);
      }
      for (LoadBalancerListener l : listeners) {
        try {
          l.onHealthChange(e);
        } catch (RuntimeException ex) {
          logger.warn("listener failed on {}", e, ex);
        }
      }
    }
  }

  /** Tells the listeners that {@code ended} flows of a backend were closed; outside the lock. */
  void flowsEnded(String rule, String backendId, List<FlowKey> ended, String reason) {
    for (LoadBalancerListener l : listeners) {
      try {
        l.onFlowsEnded(rule, backendId, List.copyOf(ended), reason);
      } catch (RuntimeException e) {
        logger.warn("listener failed", e);
      }
    }
  }

  /**
   * Returns the slots of {@code backends} for a rule, reusing each backend's slot so its flow count
   * and health carry over; a departed backend's slot is retired and forgotten once it holds no
   * flows. Under the lock.
   */
  BackendSlot[] slots(String rule, RuleSlots registry, long idleNanos, List<Backend> backends) {
    BackendSlot[] slots = new BackendSlot[backends.size()];
    Set<String> members = new HashSet<>();
    for (int i = 0; i < slots.length; i++) {
      String id = backends.get(i).id();
      members.add(id);
      slots[i] =
          registry.byId.computeIfAbsent(
              id, k -> new BackendSlot(rule, k, idleNanos, registry.total));
      slots[i].member = true;
    }
    for (BackendSlot s : registry.byId.values()) {
      if (!members.contains(s.backendId)) {
        retire(s);
      }
      s.idleTimeoutNanos = idleNanos;
    }
    registry.byId.values().removeIf(s -> !s.member && s.active() == 0);
    return slots;
  }

  /** Takes a slot out of its rule: no probes, no ejection, no drain; its flows stay pinned. */
  private void retire(BackendSlot s) {
    if (!s.member) {
      return;
    }
    s.member = false;
    s.inRotation = false;
    s.health = null;
    probes.detach(s);
    passive.retire(s);
  }

  // ---------------------------------------------------------------- the control thread

  /** Runs {@code task} on the control thread, creating it on first use; not after close. */
  void onControlThread(Runnable task) {
    ScheduledExecutorService s;
    synchronized (lock) {
      if (closed) {
        return;
      }
      s = schedulerLocked();
    }
    try {
      s.execute(task);
    } catch (RejectedExecutionException e) {
      logger.debug("control task refused after close", e);
    }
  }

  /** Returns the control thread's scheduler, creating it on first use; under the lock. */
  ScheduledExecutorService schedulerLocked() {
    if (scheduler == null) {
      scheduler =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "lb4j-control");
                t.setDaemon(true);
                return t;
              });
    }
    return scheduler;
  }

  // ---------------------------------------------------------------- lookups

  private BackendPool pool(String name) {
    Objects.requireNonNull(name, "pool");
    BackendPool p = config.pool(name);
    if (p == null) {
      List<String> known = new ArrayList<>();
      for (BackendPool each : config.pools()) {
        known.add(each.name());
      }
      throw new IllegalArgumentException(
          "pool: '" + name + "' is not defined (known pools: " + known + ")");
    }
    return p;
  }

  private Backend backend(String pool, String backendId) {
    Objects.requireNonNull(backendId, "backendId");
    BackendPool p = pool(pool);
    Backend b = p.backend(backendId);
    if (b == null) {
      throw new IllegalArgumentException(unknownBackend(p, backendId));
    }
    return b;
  }

  private static String unknownBackend(BackendPool pool, String backendId) {
    return "backendId: '"
        + backendId
        + "' is not defined in pool '"
        + pool.name()
        + "' (known backends: "
        + pool.backendIds()
        + ")";
  }

  String unknownRule(String rule) {
    return "rule: '" + rule + "' is not defined (known rules: " + config.ruleNames() + ")";
  }

  private Set<String> rulesOfPool(String pool) {
    Set<String> names = new HashSet<>();
    for (Rule r : config.rulesOfPool(pool)) {
      names.add(r.name());
    }
    return names;
  }
}

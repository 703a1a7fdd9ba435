package io.lb4j.core;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.BackendPool;
import io.lb4j.Diagnosis;
import io.lb4j.DistributionMode;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowKey;
import io.lb4j.HealthEvent;
import io.lb4j.HealthOverride;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.NoHealthyBackendPolicy;
import io.lb4j.OutlierDetection;
import io.lb4j.ProbeResult;
import io.lb4j.ProberStats;
import io.lb4j.Selection;
import io.lb4j.UnhealthyFlowPolicy;
import io.lb4j.core.flow.FlowTable;
import io.lb4j.core.hash.FlowHasher;
import io.lb4j.core.health.HealthProber;
import io.lb4j.core.health.NioHealthChecker;
import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import io.lb4j.spi.HealthChecker;
import io.lb4j.spi.Ticker;
import java.net.InetSocketAddress;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * lb4j's {@link LoadBalancer}: flow hashing per distribution mode, a selector per rule, a flow
 * table that pins every flow to its backend, and health from probes, overrides and passive
 * ejection.
 *
 * <pre>{@code
 * LoadBalancer lb = L4LoadBalancer.builder()
 *     .config(LoadBalancerConfig.builder()
 *         .frontend(Frontend.of("web", "127.0.0.1"))
 *         .pool(BackendPool.of("web", Backend.of("web-1", "127.0.0.2"), Backend.of("web-2", "127.0.0.3")))
 *         .probe(HealthProbe.tcp("tcp"))
 *         .rule(LoadBalancingRule.builder("http").frontend("web").frontendPort(80)
 *             .backendPool("web").backendPort(8080).probe("tcp").build())
 *         .build())
 *     .build();
 * Selection s = lb.select(FlowKey.of(Protocol.TCP, client, frontend));
 * }</pre>
 *
 * <p>Each change of the control plane — membership, weight, admin state, override, a probe's
 * verdict, an ejection — rebuilds the selectors of the rules it touches (a Maglev table of 65537
 * entries over 1000 backends takes a few milliseconds) and publishes a new snapshot with one
 * volatile write. Two balancers built from the same configuration and seed, in any process, give
 * every new flow the same backend while they agree on health.
 *
 * <p>Probes run on the probe scheduler (one daemon thread unless one is given) with the {@link
 * NioHealthChecker} unless another checker is given; health changes and listener calls happen on
 * that scheduler.
 *
 * <p>Thread-safe.
 */
public final class L4LoadBalancer implements LoadBalancer {
  private static final Logger logger = LoggerFactory.getLogger(L4LoadBalancer.class);

  /** The flow-hash seed when none is set. */
  public static final long DEFAULT_SEED = 0x6C62346A2D666C6FL; // "lb4j-flo"

  static final Selection NO_RULE =
      Selection.none(
          Selection.Status.NO_RULE,
          null,
          "no load-balancing or NAT rule listens on the flow's destination address, port and"
              + " protocol");

  final long seed;
  final FlowTable<BackendSlot> flows;
  final FlowWindow window = new FlowWindow();
  final Ticker ticker;
  final InstantSource clock;
  private final List<LoadBalancerListener> listeners = new CopyOnWriteArrayList<>();
  final Object lock = new Object();

  // Control plane, guarded by lock.
  LoadBalancerConfig config;
  final Map<String, Map<String, BackendSlot>> slotsByRule = new HashMap<>();
  private final Map<String, AtomicInteger> totalByRule = new HashMap<>();
  private final Map<String, RuleState> states = new LinkedHashMap<>();
  private final Map<TargetKey, TargetRef> targets = new HashMap<>();
  final HealthChecker checker;
  private final boolean ownsChecker;
  private ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;
  private HealthProber prober;
  private final int historySize;
  private final long probeSeed;
  private boolean closed;

  // Data plane.
  volatile Snapshot snapshot;
  private volatile boolean recording = true;

  private L4LoadBalancer(Builder b) {
    this.seed = b.seed;
    this.config = b.config;
    this.ticker = b.ticker;
    this.clock = b.clock;
    this.historySize = b.historySize;
    this.probeSeed = b.probeSeed;
    this.ownsChecker = b.checker == null;
    this.checker = b.checker != null ? b.checker : new NioHealthChecker(b.clock);
    this.ownsScheduler = b.probeScheduler == null;
    this.scheduler = b.probeScheduler;
    this.flows =
        FlowTable.<BackendSlot>builder()
            .capacity(b.flowTableCapacity)
            .ticker(b.ticker)
            .scheduler(b.maintenance)
            .idleTimeoutNanos(slot -> slot.idleTimeoutNanos)
            .onExpired((flow, slot) -> slot.release())
            .build();
    synchronized (lock) {
      rebuild(allRuleNames());
      if (prober != null) {
        prober.start();
      }
    }
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------- data plane

  @Override
  public Selection select(FlowKey flow) {
    Snapshot s = snapshot;
    RuleState rule = s.find(flow);
    if (rule == null) {
      return NO_RULE;
    }
    if (!recording) {
      return answer(rule, rule.select(flow, seed));
    }
    BackendSlot pinned = flows.get(flow);
    if (pinned != null) {
      if (!pinned.disabled) {
        return pinned.selection;
      }
      if (flows.remove(flow, pinned)) {
        pinned.release();
      }
    }
    return assign(rule, flow, rule.select(flow, seed));
  }

  @Override
  public Selection reselect(FlowKey flow, int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 1)");
    }
    RuleState rule = snapshot.find(flow);
    if (rule == null) {
      return NO_RULE;
    }
    int index = rule.selector.select(FlowHasher.hash(flow, rule.mode, seed), attempt);
    if (!recording) {
      return answer(rule, index);
    }
    BackendSlot pinned = flows.remove(flow);
    if (pinned != null) {
      pinned.release();
    }
    return assign(rule, flow, index);
  }

  /** Records {@code flow} on the slot at {@code index} and returns its answer. */
  private Selection assign(RuleState rule, FlowKey flow, int index) {
    if (index < 0) {
      return rule.none;
    }
    BackendSlot chosen = rule.slots[index];
    chosen.acquire();
    BackendSlot now = flows.putIfAbsent(flow, chosen);
    if (now != chosen) {
      chosen.release();
      return now == null ? rule.full : now.selection;
    }
    window.record(flow, chosen, ticker.read());
    return chosen.selection;
  }

  @Override
  public Selection pick(FlowKey flow) {
    RuleState rule = snapshot.find(flow);
    return rule == null ? NO_RULE : answer(rule, rule.select(flow, seed));
  }

  private static Selection answer(RuleState rule, int index) {
    return index < 0 ? rule.none : rule.slots[index].selection;
  }

  @Override
  public FlowExplanation explain(FlowKey flow) {
    Objects.requireNonNull(flow, "flow");
    return Diagnostician.explain(this, flow);
  }

  @Override
  public Diagnosis diagnose() {
    return new Diagnostician(this).diagnose();
  }

  @Override
  public boolean flowClosed(FlowKey flow) {
    BackendSlot slot = flows.remove(flow);
    if (slot == null) {
      return false;
    }
    slot.release();
    return true;
  }

  @Override
  public void reportConnectFailure(String rule, String backendId) {
    RuleState r = snapshot.rule(rule);
    BackendSlot slot = r == null || r.nat ? null : r.slotById.get(backendId);
    if (slot == null) {
      return;
    }
    int threshold = r.outlierDetection.consecutiveFailures();
    if (threshold > 0
        && slot.connectFailures.incrementAndGet() >= threshold
        && slot.ejectionQueued.compareAndSet(false, true)) {
      onControlThread(() -> eject(slot));
    }
  }

  @Override
  public void reportConnectSuccess(String rule, String backendId) {
    RuleState r = snapshot.rule(rule);
    BackendSlot slot = r == null ? null : r.slotById.get(backendId);
    if (slot != null && slot.connectFailures.get() != 0) {
      slot.connectFailures.set(0);
    }
  }

  @Override
  public long activeFlows() {
    return flows.size();
  }

  @Override
  public int activeFlows(String rule, String backendId) {
    synchronized (lock) {
      Map<String, BackendSlot> slots = slotsByRule.get(rule);
      if (slots == null) {
        throw new IllegalArgumentException(unknownRule(rule));
      }
      BackendSlot slot = slots.get(backendId);
      return slot == null ? 0 : slot.active();
    }
  }

  /** Runs the flow table's pending maintenance now, forgetting flows past their idle timeout. */
  public void cleanUp() {
    flows.cleanUp();
  }

  // ---------------------------------------------------------------- control plane

  @Override
  public LoadBalancerConfig config() {
    synchronized (lock) {
      return config;
    }
  }

  @Override
  public void reconfigure(LoadBalancerConfig next) {
    Objects.requireNonNull(next, "config");
    synchronized (lock) {
      Set<String> before = allRuleNames();
      config = next;
      Set<String> after = allRuleNames();
      for (String gone : before) {
        if (!after.contains(gone)) {
          states.remove(gone);
          Map<String, BackendSlot> slots = slotsByRule.get(gone);
          if (slots != null) {
            for (BackendSlot s : slots.values()) {
              retire(s);
            }
            slots.values().removeIf(s -> s.active() == 0);
          }
        }
      }
      rebuild(after);
      logger.info("reconfigured: rules {}", after);
    }
  }

  @Override
  public void addListener(LoadBalancerListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  @Override
  public void addBackend(String pool, Backend backend) {
    Objects.requireNonNull(backend, "backend");
    synchronized (lock) {
      BackendPool p = pool(pool);
      boolean replaced = p.backend(backend.id()) != null;
      config = config.withPool(p.withBackend(backend));
      rebuild(rulesOfPool(pool));
      logger.info("{} backend {} in pool {}", replaced ? "replaced" : "added", backend, pool);
    }
  }

  @Override
  public boolean removeBackend(String pool, String backendId) {
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
      return true;
    }
  }

  @Override
  public void setWeight(String pool, String backendId, int weight) {
    changeBackend(pool, backendId, "weight", weight, Backend::weight, b -> b.withWeight(weight));
  }

  @Override
  public void setAdminState(String pool, String backendId, AdminState state) {
    Objects.requireNonNull(state, "state");
    changeBackend(
        pool, backendId, "admin state", state, Backend::adminState, b -> b.withAdminState(state));
  }

  @Override
  public void setHealthOverride(String pool, String backendId, HealthOverride override) {
    Objects.requireNonNull(override, "override");
    changeBackend(
        pool,
        backendId,
        "health override",
        override,
        Backend::healthOverride,
        b -> b.withHealthOverride(override));
  }

  /** Changes one property of a backend, rebuilding the pool's rules if it really changed. */
  private void changeBackend(
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
      if (!before.equals(value)) {
        config = config.withPool(pool(pool).withBackend(changed));
        rebuild(rulesOfPool(pool));
        logger.info(
            "{} of backend {} in pool {}: {} -> {}", property, backendId, pool, before, value);
      }
    }
  }

  @Override
  public BackendHealth health(String rule, String backendId) {
    synchronized (lock) {
      Map<String, BackendSlot> slots = slotsByRule.get(rule);
      if (slots == null) {
        throw new IllegalArgumentException(unknownRule(rule));
      }
      BackendSlot slot = slots.get(backendId);
      if (slot == null || !slot.member) {
        String pool = poolOf(rule);
        throw new IllegalArgumentException(
            "backendId: '"
                + backendId
                + "' is not defined in pool '"
                + pool
                + "' (known backends: "
                + config.pool(pool).backendIds()
                + ")");
      }
      long now = ticker.read();
      return new BackendHealth(
          rule,
          backendId,
          slot.effective,
          slot.backend.healthOverride(),
          slot.ejected()
              ? clock.instant().plusNanos(Math.max(0, slot.ejectedUntilNanos - now))
              : null,
          slot.connectFailures.get(),
          slot.inRotation,
          slot.target == null ? List.of() : slot.target.results());
    }
  }

  @Override
  public ProberStats proberStats() {
    synchronized (lock) {
      return prober == null ? ProberStats.NONE : prober.stats();
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      recording = false;
      if (prober != null) {
        prober.close();
      }
      if (ownsChecker && checker instanceof NioHealthChecker) {
        ((NioHealthChecker) checker).close();
      }
      if (ownsScheduler && scheduler != null) {
        scheduler.shutdownNow();
      }
      flows.clear();
      for (Map<String, BackendSlot> slots : slotsByRule.values()) {
        for (BackendSlot slot : slots.values()) {
          while (slot.active() > 0) {
            slot.release();
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- health

  /** Runs {@code task} on the probe scheduler, creating it on first use. */
  private void onControlThread(Runnable task) {
    ScheduledExecutorService s;
    synchronized (lock) {
      if (closed) {
        return;
      }
      s = scheduler();
    }
    try {
      s.execute(task);
    } catch (RejectedExecutionException e) {
      logger.debug("control task refused after close", e);
    }
  }

  private ScheduledExecutorService scheduler() {
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

  private HealthProber prober() {
    if (prober == null) {
      prober =
          HealthProber.builder()
              .checker(checker)
              .scheduler(scheduler())
              .ticker(ticker)
              .clock(clock)
              .historySize(historySize)
              .seed(probeSeed)
              .listener(this::onProbeResult)
              .build();
    }
    return prober;
  }

  private void onProbeResult(
      HealthProber.Target target, ProbeResult result, HealthState before, HealthState after) {
    synchronized (lock) {
      TargetRef ref = targets.get(new TargetKey(target.probe().name(), target.address()));
      if (ref == null || ref.target != target) {
        return;
      }
      Set<String> changed = new HashSet<>();
      for (BackendSlot slot : ref.slots) {
        if (slot.awaitingProbe && !result.isSuccess()) {
          target.notifyNextResult(); // still waiting for a pass
        }
        boolean returns = slot.awaitingProbe && result.isSuccess();
        if (slot.probeState != after || returns) {
          slot.probeState = after;
          if (returns) {
            endEjection(slot);
          }
          changed.add(slot.rule);
        }
      }
      if (!changed.isEmpty()) {
        rebuild(changed);
      }
    }
  }

  private void eject(BackendSlot slot) {
    synchronized (lock) {
      slot.ejectionQueued.set(false);
      RuleState rule = states.get(slot.rule);
      if (closed || rule == null || !slot.member || slot.ejected()) {
        return;
      }
      OutlierDetection od = rule.outlierDetection;
      if (!od.isEnabled() || slot.backend.healthOverride() == HealthOverride.FORCE_UP) {
        return;
      }
      int ejected = 0;
      int members = 0;
      for (BackendSlot s : slotsByRule.get(slot.rule).values()) {
        if (s.member) {
          members++;
          ejected += s.ejected() ? 1 : 0;
        }
      }
      int allowed = Math.max(1, members * od.maxEjectionPercent() / 100);
      if (ejected >= allowed) {
        logger.warn(
            "backend {} of rule {} failed {} connects in a row but is not ejected: {} of {}"
                + " backends are ejected already (maxEjectionPercent {})",
            slot.backendId,
            slot.rule,
            slot.connectFailures.get(),
            ejected,
            members,
            od.maxEjectionPercent());
        slot.connectFailures.set(0);
        return;
      }
      long now = ticker.read();
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
          scheduler().schedule(() -> ejectionOver(slot), duration, TimeUnit.NANOSECONDS);
      rebuild(Set.of(slot.rule));
    }
  }

  private void ejectionOver(BackendSlot slot) {
    synchronized (lock) {
      if (closed || !slot.ejected()) {
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
        rebuild(Set.of(slot.rule));
      }
    }
  }

  private void endEjection(BackendSlot slot) {
    slot.ejectedUntilNanos = 0;
    slot.awaitingProbe = false;
    slot.lastEjectionEndNanos = ticker.read();
    slot.connectFailures.set(0);
  }

  private void drainUnhealthy(BackendSlot slot) {
    List<FlowKey> ended = new ArrayList<>();
    synchronized (lock) {
      slot.drainTask = null;
      slot.drainDeadline = null;
      if (closed || slot.effective != HealthState.UNHEALTHY) {
        return;
      }
      flows.forEach(
          (flow, s) -> {
            if (s == slot) {
              ended.add(flow);
            }
          });
      ended.removeIf(flow -> !flows.remove(flow, slot));
      for (int i = 0; i < ended.size(); i++) {
        slot.release();
      }
    }
    if (!ended.isEmpty()) {
      String reason =
          "backend unhealthy for the rule's drain timeout (" + drainTimeoutOf(slot.rule) + ")";
      logger.info(
          "ended {} flows of unhealthy backend {} of rule {}: {}",
          ended.size(),
          slot.backendId,
          slot.rule,
          reason);
      for (LoadBalancerListener l : listeners) {
        try {
          l.onFlowsEnded(slot.rule, slot.backendId, List.copyOf(ended), reason);
        } catch (RuntimeException e) {
          logger.warn("listener failed", e);
        }
      }
    }
  }

  private Duration drainTimeoutOf(String rule) {
    LoadBalancingRule r = config.loadBalancingRule(rule);
    return r == null ? Duration.ZERO : r.drainTimeout();
  }

  /** Returns the slot's health for its rule, from override, ejection and probe, in that order. */
  private static HealthState effectiveHealth(BackendSlot slot, boolean probed) {
    HealthOverride o = slot.backend.healthOverride();
    if (o == HealthOverride.FORCE_UP) {
      return HealthState.HEALTHY;
    }
    if (o == HealthOverride.FORCE_DOWN || slot.ejected()) {
      return HealthState.UNHEALTHY;
    }
    return probed ? slot.probeState : HealthState.HEALTHY;
  }

  String cause(BackendSlot slot, LoadBalancingRule rule) {
    HealthOverride o = slot.backend.healthOverride();
    if (o != HealthOverride.FOLLOW_PROBE) {
      return "health override " + o;
    }
    if (slot.ejected()) {
      OutlierDetection od = rule.outlierDetection();
      return slot.awaitingProbe
          ? "passive: ejection over, waiting for a passing probe"
          : "passive: "
              + od.consecutiveFailures()
              + " connect failures in a row; ejected for "
              + Duration.ofNanos(slot.lastEjectionNanos).toSeconds()
              + " s (ejection "
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

  // ---------------------------------------------------------------- building

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
      throw new IllegalArgumentException(
          "backendId: '"
              + backendId
              + "' is not defined in pool '"
              + pool
              + "' (known backends: "
              + p.backendIds()
              + ")");
    }
    return b;
  }

  private String poolOf(String rule) {
    LoadBalancingRule r = config.loadBalancingRule(rule);
    if (r != null) {
      return r.backendPool();
    }
    for (InboundNatRule n : config.inboundNatRules()) {
      if (n.name().equals(rule)) {
        return n.backendPool();
      }
    }
    throw new IllegalArgumentException(unknownRule(rule));
  }

  private String unknownRule(String rule) {
    List<String> known = new ArrayList<>(states.keySet());
    return "rule: '" + rule + "' is not defined (known rules: " + known + ")";
  }

  private Set<String> allRuleNames() {
    Set<String> names = new HashSet<>();
    for (LoadBalancingRule r : config.loadBalancingRules()) {
      names.add(r.name());
    }
    for (InboundNatRule r : config.inboundNatRules()) {
      names.add(r.name());
    }
    return names;
  }

  private Set<String> rulesOfPool(String pool) {
    Set<String> names = new HashSet<>();
    for (LoadBalancingRule r : config.loadBalancingRules()) {
      if (r.backendPool().equals(pool)) {
        names.add(r.name());
      }
    }
    for (InboundNatRule r : config.inboundNatRules()) {
      if (r.backendPool().equals(pool)) {
        names.add(r.name());
      }
    }
    return names;
  }

  /** Rebuilds the named rules and publishes a snapshot of every rule, in configuration order. */
  private void rebuild(Set<String> names) {
    List<HealthEvent> events = new ArrayList<>();
    for (LoadBalancingRule r : config.loadBalancingRules()) {
      if (names.contains(r.name())) {
        states.put(r.name(), buildRule(r, events));
      }
    }
    for (InboundNatRule r : config.inboundNatRules()) {
      if (names.contains(r.name())) {
        states.put(r.name(), buildNatRule(r));
      }
    }
    snapshot = new Snapshot(states.values().toArray(new RuleState[0]));
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

  private RuleState buildRule(LoadBalancingRule rule, List<HealthEvent> events) {
    BackendPool pool = config.pool(rule.backendPool());
    List<Backend> backends = pool.backends();
    HealthProbe probe = rule.probe() == null ? null : config.probe(rule.probe());
    BackendSlot[] slots = slots(rule.name(), rule.idleTimeout().toNanos(), backends);
    String[] keys = new String[backends.size()];
    int[] healthy = new int[backends.size()];
    int[] candidates = new int[backends.size()];
    int[] out = new int[5]; // unhealthy, draining, disabled, weight 0, not probed yet
    int healthyCount = 0;
    int candidateCount = 0;
    for (int i = 0; i < keys.length; i++) {
      Backend b = backends.get(i);
      BackendSlot slot = slots[i];
      keys[i] = b.id();
      slot.backend = b;
      slot.selection = Selection.selected(rule.name(), b, b.target(rule.backendPort()));
      slot.disabled = b.adminState() == AdminState.DISABLED;
      attachProbe(slot, probe, b.target(rule.backendPort()));
      HealthState state = effectiveHealth(slot, probe != null);
      if (slot.effective != state) {
        if (slot.effective != null) {
          events.add(
              new HealthEvent(
                  clock.instant(),
                  rule.name(),
                  b.id(),
                  slot.effective,
                  state,
                  cause(slot, rule),
                  slot.target == null ? null : slot.target.lastResult()));
        }
        slot.effective = state;
        scheduleDrain(slot, rule);
      }
      boolean serving = b.adminState() == AdminState.ENABLED && b.weight() > 0;
      if (serving) {
        candidates[i] = b.weight();
        candidateCount++;
      }
      if (b.adminState() == AdminState.DISABLED) {
        out[2]++;
      } else if (b.adminState() == AdminState.DRAINING) {
        out[1]++;
      } else if (state == HealthState.UNKNOWN) {
        out[4]++;
      } else if (state != HealthState.HEALTHY) {
        out[0]++;
      } else if (b.weight() == 0) {
        out[3]++;
      } else {
        healthy[i] = b.weight();
        healthyCount++;
      }
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
    for (int i = 0; i < slots.length; i++) {
      slots[i].inRotation = weights[i] > 0;
    }
    AtomicInteger total = totalByRule.get(rule.name());
    BackendSelector selector =
        Selectors.of(rule.selection(), keys, weights, i -> slots[i].active(), total::get);
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
        none,
        full(rule.name()));
  }

  private void scheduleDrain(BackendSlot slot, LoadBalancingRule rule) {
    if (slot.drainTask != null) {
      slot.drainTask.cancel(false);
      slot.drainTask = null;
      slot.drainDeadline = null;
    }
    if (slot.effective == HealthState.UNHEALTHY
        && rule.unhealthyFlowPolicy() == UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT
        && !closed) {
      slot.drainDeadline = clock.instant().plus(rule.drainTimeout());
      slot.drainTask =
          scheduler()
              .schedule(
                  () -> drainUnhealthy(slot), rule.drainTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  /** Points the slot at the prober target of (probe, address), sharing targets between rules. */
  private void attachProbe(BackendSlot slot, HealthProbe probe, InetSocketAddress dataTarget) {
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
    if (Objects.equals(key, current) || closed) {
      return;
    }
    detachProbe(slot);
    if (key == null) {
      return;
    }
    TargetRef ref = targets.get(key);
    if (ref == null) {
      ref = new TargetRef(prober().add(key.address, probe));
      targets.put(key, ref);
    }
    ref.slots.add(slot);
    slot.target = ref.target;
    slot.probeState = ref.target.state();
  }

  private void detachProbe(BackendSlot slot) {
    if (slot.target == null) {
      return;
    }
    TargetKey key = new TargetKey(slot.target.probe().name(), slot.target.address());
    TargetRef ref = targets.get(key);
    if (ref != null) {
      ref.slots.remove(slot);
      if (ref.slots.isEmpty()) {
        targets.remove(key);
        prober.remove(ref.target);
      }
    }
    slot.target = null;
    slot.probeState = HealthState.HEALTHY;
  }

  private RuleState buildNatRule(InboundNatRule rule) {
    // LoadBalancerConfig guarantees the backend exists, and removeBackend refuses to break that.
    Backend b = config.pool(rule.backendPool()).backend(rule.backend());
    BackendSlot[] slots = slots(rule.name(), rule.idleTimeout().toNanos(), List.of(b));
    slots[0].backend = b;
    slots[0].effective = HealthState.HEALTHY;
    slots[0].selection =
        Selection.selected(rule.name(), b, new InetSocketAddress(b.address(), rule.backendPort()));
    slots[0].disabled = b.adminState() == AdminState.DISABLED;
    slots[0].inRotation = b.adminState() == AdminState.ENABLED;
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
        none,
        full(rule.name()));
  }

  private Selection full(String rule) {
    return Selection.none(
        Selection.Status.FLOW_TABLE_FULL,
        rule,
        rule
            + ": the flow table is full ("
            + flows.capacity()
            + " flows); new flows are refused, established flows are kept");
  }

  /**
   * Returns the slots of {@code backends} for {@code rule}, reusing each backend's slot so its flow
   * count and health carry over; a departed backend's slot stops being probed and is forgotten once
   * it holds no flows.
   */
  private BackendSlot[] slots(String rule, long idleNanos, List<Backend> backends) {
    Map<String, BackendSlot> byId = slotsByRule.computeIfAbsent(rule, r -> new HashMap<>());
    AtomicInteger total = totalByRule.computeIfAbsent(rule, r -> new AtomicInteger());
    BackendSlot[] slots = new BackendSlot[backends.size()];
    Set<String> members = new HashSet<>();
    for (int i = 0; i < slots.length; i++) {
      String id = backends.get(i).id();
      members.add(id);
      slots[i] = byId.computeIfAbsent(id, k -> new BackendSlot(rule, k, idleNanos, total));
      slots[i].member = true;
    }
    for (BackendSlot s : byId.values()) {
      if (!members.contains(s.backendId)) {
        retire(s);
      }
      s.idleTimeoutNanos = idleNanos;
    }
    byId.values().removeIf(s -> !s.member && s.active() == 0);
    return slots;
  }

  /** Takes a slot out of its rule: no probes, no ejection, no drain; its flows stay pinned. */
  private void retire(BackendSlot s) {
    if (!s.member) {
      return;
    }
    s.member = false;
    s.inRotation = false;
    s.effective = null;
    s.ejectedUntilNanos = 0;
    s.awaitingProbe = false;
    detachProbe(s);
    if (s.ejectionTask != null) {
      s.ejectionTask.cancel(false);
    }
    if (s.drainTask != null) {
      s.drainTask.cancel(false);
      s.drainTask = null;
      s.drainDeadline = null;
    }
  }

  private static String reasons(int[] out) {
    String[] names = {"unhealthy", "draining", "disabled", "weight 0", "not probed yet"};
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < names.length; i++) {
      if (out[i] > 0) {
        sb.append(sb.length() == 0 ? "" : ", ").append(out[i]).append(' ').append(names[i]);
      }
    }
    return sb.toString();
  }

  /** What the prober probes: a probe at an address. Rules that agree on both share it. */
  private static final class TargetKey {
    final String probe;
    final InetSocketAddress address;

    TargetKey(String probe, InetSocketAddress address) {
      this.probe = probe;
      this.address = address;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof TargetKey
          && ((TargetKey) o).probe.equals(probe)
          && ((TargetKey) o).address.equals(address);
    }

    @Override
    public int hashCode() {
      return probe.hashCode() * 31 + address.hashCode();
    }
  }

  /** A prober target and the slots that follow it. */
  private static final class TargetRef {
    final HealthProber.Target target;
    final Set<BackendSlot> slots = new HashSet<>();

    TargetRef(HealthProber.Target target) {
      this.target = target;
    }
  }

  /**
   * Builds an {@link L4LoadBalancer}.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private LoadBalancerConfig config;
    private long seed = DEFAULT_SEED;
    private long flowTableCapacity = FlowTable.DEFAULT_CAPACITY;
    private Ticker ticker = Ticker.system();
    private InstantSource clock = InstantSource.system();
    private ScheduledExecutorService maintenance = FlowTable.sharedScheduler();
    private HealthChecker checker;
    private ScheduledExecutorService probeScheduler;
    private int historySize = HealthProber.DEFAULT_HISTORY_SIZE;
    private long probeSeed = System.nanoTime();

    private Builder() {}

    /** Sets the configuration; required. */
    public Builder config(LoadBalancerConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * Sets the flow-hash seed; balancers that must agree on every flow's backend use the same seed.
     * A fixed default.
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Sets the most flows the flow table holds; one million by default. A new flow that finds it
     * full is refused with {@link Selection.Status#FLOW_TABLE_FULL}.
     *
     * @throws IllegalArgumentException if {@code capacity} is below 1
     */
    public Builder flowTableCapacity(long capacity) {
      if (capacity < 1) {
        throw new IllegalArgumentException("flowTableCapacity: " + capacity + " (expected: >= 1)");
      }
      this.flowTableCapacity = capacity;
      return this;
    }

    /** Sets the time source of flow expiry, probe schedules and ejections; the system ticker. */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /** Sets the wall clock of probe results and health events; the system clock by default. */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Sets where the flow table's maintenance runs (once per tick, at most every second, while
     * flows are recorded): one daemon thread shared by every balancer by default. A proxy passes
     * one of its event loops; the balancer does not shut it down.
     */
    public Builder maintenanceScheduler(ScheduledExecutorService scheduler) {
      this.maintenance = Objects.requireNonNull(scheduler, "maintenanceScheduler");
      return this;
    }

    /**
     * Sets the checker that runs probes; a {@link NioHealthChecker}, closed with the balancer, by
     * default.
     */
    public Builder healthChecker(HealthChecker checker) {
      this.checker = Objects.requireNonNull(checker, "checker");
      return this;
    }

    /**
     * Sets the scheduler of probes, ejections and drains, on which health changes and listener
     * calls run; one daemon thread, shut down with the balancer, by default. The balancer does not
     * shut down a scheduler it was given.
     */
    public Builder probeScheduler(ScheduledExecutorService scheduler) {
      this.probeScheduler = Objects.requireNonNull(scheduler, "probeScheduler");
      return this;
    }

    /** Sets how many probe results each backend keeps, 1-1000; 10 by default. */
    public Builder probeHistorySize(int size) {
      if (size < 1 || size > 1000) {
        throw new IllegalArgumentException("probeHistorySize: " + size + " (expected: 1-1000)");
      }
      this.historySize = size;
      return this;
    }

    /** Sets the seed of the probes' jitter; random by default, fixed in tests. */
    public Builder probeSeed(long seed) {
      this.probeSeed = seed;
      return this;
    }

    /**
     * Returns the balancer, probing at once if a rule has a probe.
     *
     * @throws IllegalStateException if no configuration was set
     */
    public L4LoadBalancer build() {
      if (config == null) {
        throw new IllegalStateException("config: not set (expected: a LoadBalancerConfig)");
      }
      return new L4LoadBalancer(this);
    }
  }
}

package io.lb4j.core;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.DistributionMode;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Selection;
import io.lb4j.core.flow.FlowTable;
import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * lb4j's {@link LoadBalancer}: flow hashing per distribution mode, a selector per rule, and a flow
 * table that pins every flow to its backend.
 *
 * <pre>{@code
 * LoadBalancer lb = L4LoadBalancer.builder()
 *     .config(LoadBalancerConfig.builder()
 *         .frontend(Frontend.of("web", "127.0.0.1"))
 *         .pool(BackendPool.of("web", Backend.of("web-1", "127.0.0.2"), Backend.of("web-2", "127.0.0.3")))
 *         .rule(LoadBalancingRule.builder("http").frontend("web").frontendPort(80)
 *             .backendPool("web").backendPort(8080).build())
 *         .build())
 *     .build();
 * Selection s = lb.select(FlowKey.of(Protocol.TCP, client, frontend));
 * }</pre>
 *
 * <p>Each change of the control plane rebuilds the selectors of the rules it touches (a Maglev
 * table of 65537 entries over 1000 backends takes a few milliseconds) and publishes a new snapshot
 * with one volatile write. Two balancers built from the same configuration and seed, in any
 * process, give every new flow the same backend.
 *
 * <p>Thread-safe.
 */
public final class L4LoadBalancer implements LoadBalancer {
  private static final Logger logger = LoggerFactory.getLogger(L4LoadBalancer.class);

  /** The flow-hash seed when none is set. */
  public static final long DEFAULT_SEED = 0x6C62346A2D666C6FL; // "lb4j-flo"

  private static final Selection NO_RULE =
      Selection.none(
          Selection.Status.NO_RULE,
          null,
          "no load-balancing or NAT rule listens on the flow's destination address, port and"
              + " protocol");

  private final long seed;
  private final FlowTable<BackendSlot> flows;
  private final Object lock = new Object();

  // Control plane, guarded by lock.
  private LoadBalancerConfig config;
  private final Map<String, Map<String, BackendSlot>> slotsByRule = new HashMap<>();
  private final Map<String, Set<String>> unhealthyByRule = new HashMap<>();
  private final Map<String, AtomicInteger> totalByRule = new HashMap<>();
  private final Map<String, RuleState> states = new LinkedHashMap<>();
  private boolean closed;

  // Data plane.
  private volatile Snapshot snapshot;
  private volatile boolean recording = true;

  private L4LoadBalancer(Builder b) {
    this.seed = b.seed;
    this.config = b.config;
    this.flows =
        FlowTable.<BackendSlot>builder()
            .capacity(b.flowTableCapacity)
            .ticker(b.ticker)
            .executor(b.executor)
            .scheduler(b.scheduler)
            .idleTimeoutNanos(slot -> slot.idleTimeoutNanos)
            .onExpired((flow, slot) -> slot.release())
            .build();
    synchronized (lock) {
      for (LoadBalancingRule r : config.loadBalancingRules()) {
        unhealthyByRule.put(r.name(), new HashSet<>());
      }
      rebuild(allRuleNames());
    }
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

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
    int index = rule.select(flow, seed);
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
  public boolean flowClosed(FlowKey flow) {
    BackendSlot slot = flows.remove(flow);
    if (slot == null) {
      return false;
    }
    slot.release();
    return true;
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

  @Override
  public LoadBalancerConfig config() {
    synchronized (lock) {
      return config;
    }
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
      Set<String> rules = rulesOfPool(pool);
      for (String rule : rules) {
        Set<String> unhealthy = unhealthyByRule.get(rule);
        if (unhealthy != null) {
          unhealthy.remove(backendId);
        }
      }
      rebuild(rules);
      logger.info(
          "removed backend {} from pool {}; its established flows continue", backendId, pool);
      return true;
    }
  }

  @Override
  public void setWeight(String pool, String backendId, int weight) {
    synchronized (lock) {
      Backend b = backend(pool, backendId);
      if (b.weight() != weight) {
        config = config.withPool(pool(pool).withBackend(b.withWeight(weight)));
        rebuild(rulesOfPool(pool));
        logger.info(
            "weight of backend {} in pool {}: {} -> {}", backendId, pool, b.weight(), weight);
      }
    }
  }

  @Override
  public void setAdminState(String pool, String backendId, AdminState state) {
    Objects.requireNonNull(state, "state");
    synchronized (lock) {
      Backend b = backend(pool, backendId);
      if (b.adminState() != state) {
        config = config.withPool(pool(pool).withBackend(b.withAdminState(state)));
        rebuild(rulesOfPool(pool));
        logger.info(
            "admin state of backend {} in pool {}: {} -> {}",
            backendId,
            pool,
            b.adminState(),
            state);
      }
    }
  }

  @Override
  public void setHealthy(String rule, String backendId, boolean healthy) {
    synchronized (lock) {
      LoadBalancingRule r = config.loadBalancingRule(rule);
      if (r == null) {
        throw new IllegalArgumentException(unknownRule(rule));
      }
      backend(r.backendPool(), backendId);
      Set<String> unhealthy = unhealthyByRule.get(rule);
      boolean changed = healthy ? unhealthy.remove(backendId) : unhealthy.add(backendId);
      if (changed) {
        rebuild(Set.of(rule));
        logger.info(
            "backend {} of rule {} is now {}", backendId, rule, healthy ? "healthy" : "unhealthy");
      }
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
    for (LoadBalancingRule r : config.loadBalancingRules()) {
      if (names.contains(r.name())) {
        states.put(r.name(), buildRule(r));
      }
    }
    for (InboundNatRule r : config.inboundNatRules()) {
      if (names.contains(r.name())) {
        states.put(r.name(), buildNatRule(r));
      }
    }
    snapshot = new Snapshot(states.values().toArray(new RuleState[0]));
  }

  private RuleState buildRule(LoadBalancingRule rule) {
    BackendPool pool = config.pool(rule.backendPool());
    List<Backend> backends = pool.backends();
    Set<String> unhealthy = unhealthyByRule.get(rule.name());
    BackendSlot[] slots = slots(rule.name(), rule.idleTimeout().toNanos(), backends);
    String[] keys = new String[backends.size()];
    int[] weights = new int[backends.size()];
    int[] out = new int[4]; // unhealthy, draining, disabled, weight 0
    for (int i = 0; i < keys.length; i++) {
      Backend b = backends.get(i);
      keys[i] = b.id();
      slots[i].selection = Selection.selected(rule.name(), b, b.target(rule.backendPort()));
      slots[i].disabled = b.adminState() == AdminState.DISABLED;
      if (b.adminState() == AdminState.DISABLED) {
        out[2]++;
      } else if (b.adminState() == AdminState.DRAINING) {
        out[1]++;
      } else if (unhealthy.contains(b.id())) {
        out[0]++;
      } else if (b.weight() == 0) {
        out[3]++;
      } else {
        weights[i] = b.weight();
      }
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
        frontend(rule.frontend()),
        rule.protocol(),
        rule.frontendPort(),
        rule.distributionMode(),
        slots,
        selector,
        none,
        full(rule.name()));
  }

  private RuleState buildNatRule(InboundNatRule rule) {
    // LoadBalancerConfig guarantees the backend exists, and removeBackend refuses to break that.
    Backend b = config.pool(rule.backendPool()).backend(rule.backend());
    BackendSlot[] slots = slots(rule.name(), rule.idleTimeout().toNanos(), List.of(b));
    slots[0].selection =
        Selection.selected(rule.name(), b, new InetSocketAddress(b.address(), rule.backendPort()));
    slots[0].disabled = b.adminState() == AdminState.DISABLED;
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
        frontend(rule.frontend()),
        rule.protocol(),
        rule.frontendPort(),
        DistributionMode.FIVE_TUPLE,
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

  private Frontend frontend(String name) {
    return config.frontend(name);
  }

  /**
   * Returns the slots of {@code backends} for {@code rule}, reusing each backend's slot so its flow
   * count carries over, and forgets slots of departed backends that hold no flows.
   */
  private BackendSlot[] slots(String rule, long idleNanos, List<Backend> backends) {
    Map<String, BackendSlot> byId = slotsByRule.computeIfAbsent(rule, r -> new HashMap<>());
    AtomicInteger total = totalByRule.computeIfAbsent(rule, r -> new AtomicInteger());
    BackendSlot[] slots = new BackendSlot[backends.size()];
    Set<String> members = new HashSet<>();
    for (int i = 0; i < slots.length; i++) {
      String id = backends.get(i).id();
      members.add(id);
      slots[i] = byId.computeIfAbsent(id, k -> new BackendSlot(k, idleNanos, total));
    }
    byId.values().removeIf(s -> !members.contains(s.backendId) && s.active() == 0);
    return slots;
  }

  private static String reasons(int[] out) {
    String[] names = {"unhealthy", "draining", "disabled", "weight 0"};
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < names.length; i++) {
      if (out[i] > 0) {
        sb.append(sb.length() == 0 ? "" : ", ").append(out[i]).append(' ').append(names[i]);
      }
    }
    return sb.toString();
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
    private Ticker ticker = Ticker.systemTicker();
    private Executor executor = ForkJoinPool.commonPool();
    private Scheduler scheduler = Scheduler.systemScheduler();

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

    /** Sets the flow table's time source; the system ticker by default. */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /** Sets where the flow table's maintenance runs; the common pool by default. */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Sets what schedules the flow table's expiry; the system scheduler by default. */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Returns the balancer.
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

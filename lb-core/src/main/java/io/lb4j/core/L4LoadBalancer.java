package io.lb4j.core;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.Diagnosis;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowKey;
import io.lb4j.HealthOverride;
import io.lb4j.KeyExplanation;
import io.lb4j.Lease;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.ProberStats;
import io.lb4j.Selection;
import io.lb4j.core.diagnose.BalancerView;
import io.lb4j.core.diagnose.Diagnostician;
import io.lb4j.core.diagnose.DiscoveryCheck;
import io.lb4j.core.diagnose.Explainer;
import io.lb4j.core.diagnose.RuleView;
import io.lb4j.core.flow.FlowTable;
import io.lb4j.core.hash.FlowHasher;
import io.lb4j.core.hash.Hash64;
import io.lb4j.core.health.HealthProber;
import io.lb4j.core.health.NioHealthChecker;
import io.lb4j.spi.BackendSelector;
import io.lb4j.spi.HealthChecker;
import io.lb4j.spi.Ticker;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;

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
 * <p>This class is the facade and the data plane: {@link #select}, {@link #pick}, {@link #reselect}
 * and {@link #flowClosed} read the published snapshot and the flow table and take no lock. Every
 * control-plane method goes to {@link ControlPlane}, which owns the lock, the backend slots and
 * snapshot publication; {@link #explain} and {@link #diagnose} read an immutable view it hands out
 * ({@code io.lb4j.core.diagnose}). See {@code docs/architecture.md}.
 *
 * <p>Thread-safe.
 */
public final class L4LoadBalancer implements LoadBalancer {

  /** The flow-hash seed when none is set. */
  public static final long DEFAULT_SEED = 0x6C62346A2D666C6FL; // "lb4j-flo"

  static final Selection NO_RULE =
      Selection.none(
          Selection.Status.NO_RULE,
          null,
          "no load-balancing or NAT rule listens on the flow's destination address, port and"
              + " protocol");

  /** Draws of the selector per retry before the candidates are taken in order. */
  static final int RETRY_DRAWS = 16;

  /** How a balancer watches for {@link Lease}s dropped without {@code close()}. */
  public enum LeakDetection {
    /** Leases are not watched: a dropped lease holds its load until the balancer closes. */
    OFF,
    /**
     * A dropped lease is reported on the {@code io.lb4j.leak} logger and its load released; costs
     * one {@link java.lang.ref.Cleaner} registration per lease. The default.
     */
    SIMPLE,
    /** As SIMPLE, and the report carries the stack trace of where the lease was taken. */
    PARANOID
  }

  private static final String[] NONE_TRIED = new String[0];

  private final long seed;
  private final FlowTable<BackendSlot> flows;
  private final Ticker ticker;
  private final InstantSource clock;
  private final ControlPlane control;
  private final Leases leases;
  private volatile boolean recording = true;

  /** What the data plane reads: published by the control plane with one volatile write. */
  private volatile Snapshot snapshot = new Snapshot(new RuleState[0]);

  private L4LoadBalancer(Builder b) {
    this.seed = b.seed;
    this.ticker = b.ticker;
    this.clock = b.clock;
    this.flows =
        FlowTable.<BackendSlot>builder()
            .capacity(b.flowTableCapacity)
            .ticker(b.ticker)
            .scheduler(b.maintenance)
            .idleTimeoutNanos(slot -> slot.idleTimeoutNanos)
            .onExpired((flow, slot) -> slot.release())
            .build();
    this.leases = new Leases(flows, b.leakDetection);
    HealthChecker checker = b.checker != null ? b.checker : new NioHealthChecker(b.clock);
    this.control =
        new ControlPlane(
            b.config,
            flows,
            b.ticker,
            b.clock,
            b.probeScheduler,
            new ProbeTargets.Settings(checker, b.checker == null, b.historySize, b.probeSeed),
            published -> snapshot = published);
    for (LoadBalancerListener l : b.listeners) {
      control.addListener(l); // before the first build and probe: they hear every event
    }
    control.start();
  }

  /** {@return a builder with the defaults; the configuration must be set} */
  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------- data plane

  @Override
  public Selection select(FlowKey flow) {
    RuleState rule = snapshot.find(flow);
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

  /**
   * {@inheritDoc}
   *
   * <p>The candidates, in order, each taken only if this flow has not tried it:
   *
   * <ol>
   *   <li>{@value #RETRY_DRAWS} draws of the rule's selector with retry numbers {@code attempt * 16
   *       + k}, each a hash derived from the flow's (Envoy's retries), so retries spread as the
   *       algorithm spreads new flows;
   *   <li>every backend in rotation, from a place the flow's hash chooses: a backend the draws
   *       missed, or one bounded load passed over for being at its bound;
   *   <li>last resort, every backend out of rotation only because passive health ejected it (its
   *       probe passing or none, enabled, weight above 0): an ejection is a guess from past
   *       failures, a refused connect now is worse.
   * </ol>
   *
   * <p>When every candidate was tried, the flow is forgotten and the rule's refusal says so.
   * Allocates nothing but the flow table's entry.
   */
  @Override
  public Selection reselect(FlowKey flow, int attempt, String[] tried, int triedCount) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 1)");
    }
    if (triedCount < 0 || triedCount > tried.length) {
      throw new IllegalArgumentException(
          "triedCount: " + triedCount + " (expected: 0-" + tried.length + ")");
    }
    RuleState rule = snapshot.find(flow);
    if (rule == null) {
      return NO_RULE;
    }
    long hash = rule.nat ? 0 : FlowHasher.hash(flow, rule.mode, seed);
    int index = untried(rule, hash, attempt, tried, triedCount);
    if (!recording) {
      return index < 0 ? rule.exhausted : rule.slots[index].selection;
    }
    BackendSlot pinned = flows.remove(flow);
    if (pinned != null) {
      pinned.release();
    }
    return index < 0 ? rule.exhausted : assign(rule, flow, index);
  }

  /** Returns the index of the first candidate for a retry not among {@code tried}, or NONE. */
  private static int untried(
      RuleState rule, long hash, int attempt, String[] tried, int triedCount) {
    int index = BackendSelector.NONE;
    for (int k = 1; k <= RETRY_DRAWS && index < 0; k++) {
      int i = rule.selector.select(hash, attempt * RETRY_DRAWS + k);
      if (i < 0) {
        break; // nothing in rotation: the lists below are as empty
      }
      if (!tried(rule.slots[i], tried, triedCount)) {
        index = i;
      }
    }
    long start = BackendSelector.rehash(hash, attempt) >>> 1;
    if (index < 0) {
      index = firstUntried(rule, rule.rotation, start, tried, triedCount);
    }
    if (index < 0) {
      index = firstUntried(rule, rule.lastResort, start, tried, triedCount);
    }
    return index;
  }

  private static int firstUntried(
      RuleState rule, int[] candidates, long start, String[] tried, int triedCount) {
    int n = candidates.length;
    for (int j = 0; j < n; j++) {
      int i = candidates[(int) ((start + j) % n)];
      if (!tried(rule.slots[i], tried, triedCount)) {
        return i;
      }
    }
    return BackendSelector.NONE;
  }

  private static boolean tried(BackendSlot slot, String[] tried, int triedCount) {
    for (int i = 0; i < triedCount; i++) {
      if (slot.backendId.equals(tried[i])) {
        return true;
      }
    }
    return false;
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
    rule.window.record(flow, chosen, ticker.read());
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

  // ---------------------------------------------------------------- application keys and leases

  @Override
  public long keyHash(long key) {
    return Hash64.hashWord(seed, key);
  }

  @Override
  public long keyHash(CharSequence key) {
    return Hash64.xxHash64Utf8(Objects.requireNonNull(key, "key"), seed);
  }

  @Override
  public long keyHash(byte[] key) {
    return Hash64.xxHash64(Objects.requireNonNull(key, "key"), seed);
  }

  @Override
  public Selection pickByKeyHash(String rule, long keyHash) {
    RuleState r = snapshot.rule(rule);
    return r == null ? noRule(rule) : answer(r, r.selector.select(keyHash));
  }

  @Override
  public Selection pickAny(String rule) {
    return pickByKeyHash(rule, ThreadLocalRandom.current().nextLong());
  }

  /**
   * {@inheritDoc}
   *
   * <p>A retry ({@code attempt} above 0) takes its candidates in {@link #reselect(FlowKey, int,
   * String[], int)}'s order. After {@link #close()} a lease is answered but holds nothing.
   */
  @Override
  public Lease leaseByKeyHash(
      String rule, long keyHash, int attempt, String[] tried, int triedCount) {
    if (attempt < 0) {
      throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 0)");
    }
    if (triedCount < 0 || triedCount > tried.length) {
      throw new IllegalArgumentException(
          "triedCount: " + triedCount + " (expected: 0-" + tried.length + ")");
    }
    RuleState r = snapshot.rule(rule);
    if (r == null) {
      return Leases.refused(rule, noRule(rule), keyHash, null);
    }
    int index =
        attempt == 0 ? r.selector.select(keyHash) : untried(r, keyHash, attempt, tried, triedCount);
    if (index < 0) {
      return Leases.refused(r.name, attempt == 0 ? r.none : r.exhausted, keyHash, null);
    }
    BackendSlot slot = r.slots[index];
    if (!recording) {
      return Leases.refused(r.name, slot.selection, keyHash, null);
    }
    slot.acquire();
    r.window.record(null, slot, ticker.read());
    return checkDisabled(slot, leases.grant(slot, keyHash, null));
  }

  @Override
  public Lease lease(String rule) {
    return leaseByKeyHash(rule, ThreadLocalRandom.current().nextLong(), 0, NONE_TRIED, 0);
  }

  @Override
  public Lease lease(FlowKey flow) {
    Selection s = select(flow);
    RuleState r = snapshot.find(flow);
    String rule = r == null ? null : r.name;
    long hash = r == null || r.nat ? 0 : FlowHasher.hash(flow, r.mode, seed);
    if (!s.isSelected()) {
      return Leases.refused(rule, s, hash, flow);
    }
    BackendSlot slot = recording ? flows.peek(flow) : null;
    if (slot == null || slot.selection.backend() != s.backend()) {
      return Leases.refused(rule, s, hash, flow); // closed, or the flow ended under us
    }
    return checkDisabled(slot, leases.grant(slot, hash, flow));
  }

  /** Ends a lease granted on a slot a concurrent change just disabled, whose leases it ended. */
  private static Lease checkDisabled(BackendSlot slot, Lease lease) {
    if (slot.disabled) {
      Leases.endAll(slot, "backend DISABLED");
    }
    return lease;
  }

  /**
   * Returns how many leases were garbage collected without {@code close()} (each reported on the
   * {@code io.lb4j.leak} logger and released); always 0 with {@link LeakDetection#OFF}.
   *
   * @return the number of leaked leases found so far
   */
  public long leakedLeases() {
    return leases.leaked();
  }

  private Selection noRule(String rule) {
    Objects.requireNonNull(rule, "rule");
    return Selection.none(
        Selection.Status.NO_RULE,
        null,
        "no rule named '" + rule + "' (rules: " + String.join(", ", snapshot.names()) + ")");
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
    if (slot != null) {
      control.passive.onConnectFailure(r, slot);
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
    return control.activeFlows(rule, backendId);
  }

  /** Runs the flow table's pending maintenance now, forgetting flows past their idle timeout. */
  public void cleanUp() {
    flows.cleanUp();
  }

  // ---------------------------------------------------------------- explain and diagnose

  @Override
  public FlowExplanation explain(FlowKey flow) {
    Objects.requireNonNull(flow, "flow");
    RuleState rule = snapshot.find(flow);
    BalancerView view = ViewBuilder.view(control, false);
    RuleView ruleView = rule == null ? null : view.rule(rule.name);
    if (ruleView == null) {
      return Explainer.noRule(view.config(), flow, NO_RULE);
    }
    long hash = rule.nat ? 0 : FlowHasher.hash(flow, rule.mode, seed);
    int index = rule.selector.select(hash);
    Selection fresh = answer(rule, index);
    BackendSlot pinned = flows.peek(flow);
    Selection fromTable = pinned != null && !pinned.disabled ? pinned.selection : null;
    return Explainer.explain(
        view, flow, ruleView, hash, fresh, fromTable, selectionFingerprint(rule.name));
  }

  @Override
  public KeyExplanation explainKeyHash(String rule, String keyText, long keyHash) {
    Objects.requireNonNull(keyText, "keyText");
    RuleState r = snapshot.rule(rule);
    BalancerView view = ViewBuilder.view(control, false);
    RuleView ruleView = r == null ? null : view.rule(r.name);
    if (ruleView == null) {
      Selection none = noRule(rule);
      return new KeyExplanation(
          rule, none.detail(), keyText, keyHash, null, java.util.List.of(), none);
    }
    Selection fresh = answer(r, r.selector.select(keyHash));
    return Explainer.explainKey(
        view, ruleView, keyText, keyHash, fresh, selectionFingerprint(r.name));
  }

  @Override
  public Diagnosis diagnose() {
    Diagnosis d =
        Diagnostician.diagnose(ViewBuilder.view(control, true), control.probes.checker(), clock);
    java.util.List<io.lb4j.discovery.DiscoveryStatus> sources = discoveries();
    if (sources.isEmpty()) {
      return d;
    }
    java.util.List<io.lb4j.Finding> findings = new java.util.ArrayList<>(d.findings());
    findings.addAll(DiscoveryCheck.findings(sources, clock.instant()));
    return new Diagnosis(d.at(), d.checksRun() + sources.size(), findings);
  }

  // ---------------------------------------------------------------- control plane

  @Override
  public LoadBalancerConfig config() {
    return control.config();
  }

  @Override
  public void reconfigure(LoadBalancerConfig next) {
    control.reconfigure(next);
  }

  @Override
  public void addListener(LoadBalancerListener listener) {
    control.addListener(listener);
  }

  @Override
  public io.lb4j.discovery.Discovery attach(
      String pool,
      io.lb4j.discovery.MembershipSource source,
      io.lb4j.discovery.DiscoveryOptions options) {
    return control.discoveries.attach(pool, source, options);
  }

  @Override
  public java.util.List<io.lb4j.discovery.DiscoveryStatus> discoveries() {
    return control.discoveries.statuses();
  }

  @Override
  public String selectionFingerprint(String rule) {
    RuleState r = snapshot.rule(Objects.requireNonNull(rule, "rule"));
    if (r == null) {
      throw new IllegalArgumentException(
          "rule: '" + rule + "' (expected: one of " + snapshot.names() + ")");
    }
    return String.format("%016x", Hash64.hashWords(seed, r.fingerprint, 0));
  }

  @Override
  public boolean removeListener(LoadBalancerListener listener) {
    return control.removeListener(listener);
  }

  @Override
  public void addBackend(String pool, Backend backend) {
    control.addBackend(pool, backend);
  }

  @Override
  public boolean removeBackend(String pool, String backendId) {
    return control.removeBackend(pool, backendId);
  }

  @Override
  public void setWeight(String pool, String backendId, int weight) {
    control.changeBackend(
        pool, backendId, "weight", weight, Backend::weight, b -> b.withWeight(weight));
  }

  @Override
  public void setAdminState(String pool, String backendId, AdminState state) {
    Objects.requireNonNull(state, "state");
    control.changeBackend(
        pool, backendId, "admin state", state, Backend::adminState, b -> b.withAdminState(state));
  }

  @Override
  public void setHealthOverride(String pool, String backendId, HealthOverride override) {
    Objects.requireNonNull(override, "override");
    control.changeBackend(
        pool,
        backendId,
        "health override",
        override,
        Backend::healthOverride,
        b -> b.withHealthOverride(override));
  }

  @Override
  public BackendHealth health(String rule, String backendId) {
    return control.health(rule, backendId);
  }

  @Override
  public ProberStats proberStats() {
    return control.proberStats();
  }

  @Override
  public void close() {
    recording = false;
    control.discoveries.closeAll();
    control.close();
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
    private LeakDetection leakDetection = LeakDetection.SIMPLE;
    private final List<LoadBalancerListener> listeners = new ArrayList<>();

    private Builder() {}

    /**
     * Adds a listener that hears every event from the start — the first build's and the first
     * probes' included, which a listener added with {@link L4LoadBalancer#addListener} after {@link
     * #build()} may miss (probing begins in {@code build()}). May be called more than once.
     *
     * @param listener the listener, told as {@link LoadBalancerListener} describes
     * @return this builder
     */
    public Builder listener(LoadBalancerListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * Sets how leases dropped without {@code close()} are found: {@link LeakDetection#SIMPLE} by
     * default, as Netty's leak detector; {@link LeakDetection#PARANOID} records where each lease
     * was taken, for a test or a hunt.
     *
     * @param detection off, simple or paranoid
     * @return this builder
     */
    public Builder leaseLeakDetection(LeakDetection detection) {
      this.leakDetection = Objects.requireNonNull(detection, "leaseLeakDetection");
      return this;
    }

    /**
     * Sets the configuration; required.
     *
     * @param config the initial configuration
     * @return this builder
     */
    public Builder config(LoadBalancerConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * Sets the flow-hash seed; balancers that must agree on every flow's backend use the same seed.
     * A fixed default.
     *
     * @param seed the seed of the flow and key hashes
     * @return this builder
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Sets the most flows the flow table holds; one million by default. A new flow that finds it
     * full is refused with {@link Selection.Status#FLOW_TABLE_FULL}.
     *
     * @param capacity the most flows, 1 or more
     * @return this builder
     * @throws IllegalArgumentException if {@code capacity} is below 1
     */
    public Builder flowTableCapacity(long capacity) {
      if (capacity < 1) {
        throw new IllegalArgumentException("flowTableCapacity: " + capacity + " (expected: >= 1)");
      }
      this.flowTableCapacity = capacity;
      return this;
    }

    /**
     * Sets the time source of flow expiry, probe schedules and ejections; the system ticker.
     *
     * @param ticker the time source
     * @return this builder
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the wall clock of probe results and health events; the system clock by default.
     *
     * @param clock the wall clock
     * @return this builder
     */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Sets where the flow table's maintenance runs (once per tick, at most every second, while
     * flows are recorded): one daemon thread shared by every balancer by default. A proxy passes
     * one of its event loops; the balancer does not shut it down.
     *
     * @param scheduler the maintenance executor
     * @return this builder
     */
    public Builder maintenanceScheduler(ScheduledExecutorService scheduler) {
      this.maintenance = Objects.requireNonNull(scheduler, "maintenanceScheduler");
      return this;
    }

    /**
     * Sets the checker that runs probes; a {@link NioHealthChecker}, closed with the balancer, by
     * default.
     *
     * @param checker the checker; the balancer does not close one it was given
     * @return this builder
     */
    public Builder healthChecker(HealthChecker checker) {
      this.checker = Objects.requireNonNull(checker, "checker");
      return this;
    }

    /**
     * Sets the scheduler of probes, ejections and drains, on which health changes and listener
     * calls run; one daemon thread, shut down with the balancer, by default. The balancer does not
     * shut down a scheduler it was given.
     *
     * @param scheduler the scheduler, single-threaded or not; health changes are serialized either
     *     way
     * @return this builder
     */
    public Builder probeScheduler(ScheduledExecutorService scheduler) {
      this.probeScheduler = Objects.requireNonNull(scheduler, "probeScheduler");
      return this;
    }

    /**
     * Sets how many probe results each backend keeps, 1-1000; 10 by default.
     *
     * @param size the results kept, 1-1000
     * @return this builder
     */
    public Builder probeHistorySize(int size) {
      if (size < 1 || size > 1000) {
        throw new IllegalArgumentException("probeHistorySize: " + size + " (expected: 1-1000)");
      }
      this.historySize = size;
      return this;
    }

    /**
     * Sets the seed of the probes' jitter; random by default, fixed in tests.
     *
     * @param seed the seed
     * @return this builder
     */
    public Builder probeSeed(long seed) {
      this.probeSeed = seed;
      return this;
    }

    /**
     * Returns the balancer, probing at once if a rule has a probe.
     *
     * @return the balancer; close it to stop probing and release its threads
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

package io.lb4j;

/**
 * An L4 load balancer: for each flow it answers which backend to send it to, remembers the answer
 * for the flow's lifetime, and takes run-time changes of membership, weight, admin state and
 * health.
 *
 * <h2>Flows</h2>
 *
 * <p>{@link #select} is called for a flow's first packet (or connection) and may be called again
 * for every later one: the first call picks a backend and records the flow in the flow table, later
 * calls return the same backend and count as activity for the idle timeout. A recorded flow keeps
 * its backend when the pool, weights, health or admin state change, until {@link #flowClosed} is
 * called or it idles out; only a {@link AdminState#DISABLED} backend loses its flows. {@link #pick}
 * answers what a new flow would get, recording nothing.
 *
 * <h2>Threading</h2>
 *
 * <p>The data plane ({@link #select}, {@link #pick}, {@link #flowClosed}) may be called from any
 * number of threads; it reads an immutable snapshot published by the control plane and takes no
 * lock. The control plane (every other method) is serialized internally; each change builds a new
 * snapshot and publishes it with one volatile write, so a selection sees either the state before a
 * change or the state after it.
 *
 * <p>Thread-safe.
 */
public interface LoadBalancer extends AutoCloseable {

  /**
   * Returns the backend for {@code flow}: the one it is pinned to if the flow is known, else a
   * fresh pick that is recorded. Allocates nothing for a known flow.
   */
  Selection select(FlowKey flow);

  /**
   * Returns the backend a new flow {@code flow} would get now, without recording the flow or
   * counting it as load. Allocates nothing.
   */
  Selection pick(FlowKey flow);

  /**
   * Picks again for {@code flow} after its backend could not be reached: forgets the flow's backend
   * and selects with retry number {@code attempt} (1, 2, ...), which derives a new hash from the
   * flow's, as Envoy does for retries. The answer may be the same backend; a caller that wants
   * another tries the next attempt. Allocates nothing but the flow table's entry.
   *
   * @throws IllegalArgumentException if {@code attempt} is below 1
   */
  Selection reselect(FlowKey flow, int attempt);

  /**
   * Picks the backend for connect attempt {@code attempt + 1} of {@code flow} after the connects to
   * {@code tried[0..triedCount)} failed: a backend not among them while the rule has one to offer,
   * recorded for the flow as {@link #reselect(FlowKey, int)} records it; or a refusal ({@link
   * Selection.Status#NO_AVAILABLE_BACKEND} when every candidate was tried), the flow then not
   * recorded. Which backends are candidates, and in which order, is the implementation's to
   * document: {@code L4LoadBalancer} offers the backends in rotation first, then those kept out of
   * it by passive ejection alone.
   *
   * <p>This default draws {@code reselect(flow, attempt * 16 + k)}, {@code k = 1..16}, and answers
   * the first untried backend or the first refusal; when every draw named a tried backend it
   * forgets the flow and answers a refusal.
   *
   * @throws IllegalArgumentException if {@code attempt} is below 1 or {@code triedCount} is outside
   *     0 to {@code tried.length}
   */
  default Selection reselect(FlowKey flow, int attempt, String[] tried, int triedCount) {
    if (triedCount < 0 || triedCount > tried.length) {
      throw new IllegalArgumentException(
          "triedCount: " + triedCount + " (expected: 0-" + tried.length + ")");
    }
    String rule = null;
    for (int k = 1; k <= 16; k++) {
      Selection s = reselect(flow, attempt * 16 + k);
      if (!s.isSelected()) {
        return s;
      }
      rule = s.rule();
      boolean seen = false;
      for (int i = 0; i < triedCount && !seen; i++) {
        seen = tried[i].equals(s.backend().id());
      }
      if (!seen) {
        return s;
      }
    }
    flowClosed(flow);
    return Selection.none(
        Selection.Status.NO_AVAILABLE_BACKEND,
        rule,
        rule + ": 16 draws named only the " + triedCount + " backends this flow tried");
  }

  /** Forgets {@code flow}, as when its connection closes; returns whether it was known. */
  boolean flowClosed(FlowKey flow);

  /** Returns the number of flows in the flow table. */
  long activeFlows();

  /**
   * Returns the number of recorded flows of rule {@code rule} on backend {@code backendId}.
   *
   * @throws IllegalArgumentException if the rule is not defined
   */
  int activeFlows(String rule, String backendId);

  /**
   * Replaces the whole configuration, as a reload does. Established flows keep their backends;
   * rules, pools and backends that stay keep their health, probe history and flow counts; a rule
   * that is gone answers {@code NO_RULE} to new flows.
   *
   * @throws NullPointerException if {@code config} is null
   */
  void reconfigure(LoadBalancerConfig config);

  /** Returns the current configuration, with every run-time change applied. */
  LoadBalancerConfig config();

  /**
   * Adds {@code backend} to pool {@code pool}, or replaces the backend with the same id.
   *
   * @throws IllegalArgumentException if the pool is not defined
   */
  void addBackend(String pool, Backend backend);

  /**
   * Removes backend {@code backendId} from pool {@code pool}: it gets no new flows, its recorded
   * flows continue until they close or idle out. Returns whether it was a member.
   *
   * @throws IllegalArgumentException if the pool is not defined, or an inbound NAT rule names the
   *     backend
   */
  boolean removeBackend(String pool, String backendId);

  /**
   * Sets the weight of backend {@code backendId} in pool {@code pool}.
   *
   * @throws IllegalArgumentException if the pool or the backend is not defined, or the weight is
   *     outside 0-65535
   */
  void setWeight(String pool, String backendId, int weight);

  /**
   * Sets the admin state of backend {@code backendId} in pool {@code pool}.
   *
   * @throws IllegalArgumentException if the pool or the backend is not defined
   */
  void setAdminState(String pool, String backendId, AdminState state);

  /**
   * Sets the health override of backend {@code backendId} in pool {@code pool}: follow the probes,
   * or force it up or down in every rule that uses the pool.
   *
   * @throws IllegalArgumentException if the pool or the backend is not defined
   */
  void setHealthOverride(String pool, String backendId, HealthOverride override);

  /**
   * Reports that the data plane could not connect to backend {@code backendId} for a flow of rule
   * {@code rule}: input to passive health ({@link OutlierDetection}). Cheap and non-blocking; an
   * unknown rule or backend is ignored, since a report may race a removal.
   */
  void reportConnectFailure(String rule, String backendId);

  /**
   * Reports that the data plane connected to backend {@code backendId} for a flow of rule {@code
   * rule}, ending its run of connect failures. Cheap and non-blocking.
   */
  void reportConnectSuccess(String rule, String backendId);

  /**
   * Returns the health of backend {@code backendId} for rule {@code rule}, with its recent probe
   * results.
   *
   * @throws IllegalArgumentException if the rule is not defined or the backend is not in its pool
   */
  BackendHealth health(String rule, String backendId);

  /**
   * Returns the health prober's counters: targets, probes completed and failed, lateness; {@link
   * ProberStats#NONE} when no rule has a probe.
   */
  ProberStats proberStats();

  /**
   * Explains where {@code flow} goes and why: the rule, the hashed fields, the candidates, the
   * answer {@link #select} would give, whether it comes from the flow table, and every backend left
   * out with its reason. Records nothing; safe to call for any flow at any time.
   */
  FlowExplanation explain(FlowKey flow);

  /**
   * Runs the troubleshooting checks against the live state and returns the findings, worst first:
   * failing probes, data ports that refuse while the probe passes, backend ports that accept
   * nowhere, uneven distribution of recent new flows, flows on backends out of rotation, hairpin
   * flows, rules with no healthy backend, and configuration smells. It connects to each backend's
   * data port once (TCP rules), so it blocks for at most about one connect timeout (1 s, or the
   * probe's timeout when shorter); do not call it on an event loop.
   */
  Diagnosis diagnose();

  /** Adds a listener of health changes and ended flows. */
  void addListener(LoadBalancerListener listener);

  /**
   * Stops probing and releases the balancer's resources; selections after it answer as before but
   * record nothing.
   */
  @Override
  void close();
}

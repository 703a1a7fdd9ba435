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
 * <h2>Application keys and leases</h2>
 *
 * <p>A client that connects out has no 5-tuple before it connects. It selects by a key it owns
 * instead — {@link #pickByKey(String, long)}, a {@code long}, a {@code CharSequence} or bytes,
 * hashed by {@link #keyHash} — or with no key ({@link #pickAny}), through the same selector,
 * weights, health and bounded load as a flow. It holds the backend for the life of its connection
 * with a {@link Lease} ({@link #leaseByKey(String, long)}, {@link #lease(String)}, {@link
 * #lease(FlowKey)}): counted as load, pinned, ended by {@code DISABLED} and drain deadlines,
 * released once. {@code io.lb4j.connect.BalancedConnector} in lb-core connects with retry on top of
 * these; see {@code docs/embedding.md}.
 *
 * <h2>Threading</h2>
 *
 * <p>The data plane ({@link #select}, {@link #pick}, {@link #flowClosed}, the key picks and leases)
 * may be called from any number of threads; it reads an immutable snapshot published by the control
 * plane and takes no lock. The control plane (every other method) is serialized internally; each
 * change builds a new snapshot and publishes it with one volatile write, so a selection sees either
 * the state before a change or the state after it.
 *
 * <p>Thread-safe.
 */
public interface LoadBalancer extends AutoCloseable {

  /**
   * Returns the backend for {@code flow}: the one it is pinned to if the flow is known, else a
   * fresh pick that is recorded. Allocates nothing for a known flow.
   *
   * @param flow the flow's 5-tuple; its destination picks the rule
   * @return the backend and target, or a typed refusal (no rule, no backend, flow table full)
   */
  Selection select(FlowKey flow);

  /**
   * Returns the backend a new flow {@code flow} would get now, without recording the flow or
   * counting it as load. Allocates nothing.
   *
   * @param flow the flow's 5-tuple; its destination picks the rule
   * @return the answer {@link #select} would give the flow now, or a typed refusal
   */
  Selection pick(FlowKey flow);

  // ---------------------------------------------------------------- application keys

  /**
   * Returns the hash of application key {@code key} as key selection uses it: XXH64 of its eight
   * little-endian bytes with the balancer's seed, so a {@code long} key and {@link
   * #keyHash(byte[])} of those bytes hash alike, and balancers with the same seed agree. Allocates
   * nothing.
   *
   * @param key the application's key, such as a user or shard id
   * @return the 64-bit hash {@link #pickByKeyHash} and {@link #leaseByKeyHash} take
   */
  long keyHash(long key);

  /**
   * Returns the hash of application key {@code key}: XXH64 of its UTF-8 encoding with the
   * balancer's seed (an unpaired surrogate counts as {@code '?'}), computed without allocating, so
   * a {@code String} key and its UTF-8 bytes pick alike.
   *
   * @param key the key's characters, not null
   * @return the 64-bit hash {@link #pickByKeyHash} and {@link #leaseByKeyHash} take
   * @throws NullPointerException if {@code key} is null
   */
  long keyHash(CharSequence key);

  /**
   * Returns the hash of application key {@code key}: XXH64 of the bytes with the balancer's seed.
   *
   * @param key the key's bytes, not null; read, not kept
   * @return the 64-bit hash {@link #pickByKeyHash} and {@link #leaseByKeyHash} take
   * @throws NullPointerException if {@code key} is null
   */
  long keyHash(byte[] key);

  /**
   * Returns the backend rule {@code rule} gives the key whose {@link #keyHash hash} is {@code
   * keyHash}, through the rule's selector as a flow of that hash would get it (weights, health,
   * bounded load), recording nothing. Schedulers that ignore hashes (round robin, least
   * connections, power of two choices) answer as for any new flow. A rule that is not defined
   * answers {@link Selection.Status#NO_RULE}. Allocates nothing for a defined rule.
   *
   * @param rule the name of a load-balancing rule
   * @param keyHash the key's hash, from {@link #keyHash}
   * @return the backend and target, or a typed refusal
   */
  Selection pickByKeyHash(String rule, long keyHash);

  /**
   * Returns {@code pickByKeyHash(rule, keyHash(key))}: no allocation.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key
   * @return the backend and target, or a typed refusal
   */
  default Selection pickByKey(String rule, long key) {
    return pickByKeyHash(rule, keyHash(key));
  }

  /**
   * Returns {@code pickByKeyHash(rule, keyHash(key))}: no allocation.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key, not null
   * @return the backend and target, or a typed refusal
   */
  default Selection pickByKey(String rule, CharSequence key) {
    return pickByKeyHash(rule, keyHash(key));
  }

  /**
   * Returns {@code pickByKeyHash(rule, keyHash(key))}.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key, not null
   * @return the backend and target, or a typed refusal
   */
  default Selection pickByKey(String rule, byte[] key) {
    return pickByKeyHash(rule, keyHash(key));
  }

  /**
   * Returns the backend rule {@code rule} gives a request without a key: its scheduler's next pick
   * (round robin, least connections, ...), or for a hashing algorithm a pick by a random hash,
   * which spreads by weight. Records nothing.
   *
   * @param rule the name of a load-balancing rule
   * @return the backend and target, or a typed refusal
   */
  Selection pickAny(String rule);

  /**
   * Takes a {@link Lease} on the backend rule {@code rule} gives the key hash {@code keyHash}, for
   * connect attempt {@code attempt + 1} after the connects to {@code tried[0..triedCount)} failed:
   * attempt 0 is {@link #pickByKeyHash}'s answer; a later attempt takes a backend not among those
   * tried, in the order {@link #reselect(FlowKey, int, String[], int)} offers them. A lease that
   * could be granted nothing says why in its {@link Lease#selection()}.
   *
   * @param rule the name of a load-balancing rule
   * @param keyHash the key's hash, from {@link #keyHash}, or the {@link Lease#hash()} of the first
   *     attempt's lease
   * @param attempt the number of connect attempts already made: 0 for the first
   * @param tried the ids of the backends whose connects failed, in the first {@code triedCount}
   *     elements; read, not kept
   * @param triedCount how many elements of {@code tried} are used
   * @return a lease on the chosen backend, or a lease granted nothing that says why; close it when
   *     the connection ends
   * @throws IllegalArgumentException if {@code attempt} is negative or {@code triedCount} is
   *     outside 0 to {@code tried.length}
   */
  Lease leaseByKeyHash(String rule, long keyHash, int attempt, String[] tried, int triedCount);

  /**
   * Returns a lease on the backend of {@code key}: {@code leaseByKeyHash(rule, keyHash(key), ...)}.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key
   * @return a lease on the chosen backend, or a lease granted nothing that says why
   */
  default Lease leaseByKey(String rule, long key) {
    return leaseByKeyHash(rule, keyHash(key), 0, new String[0], 0);
  }

  /**
   * Returns a lease on the backend of {@code key}: {@code leaseByKeyHash(rule, keyHash(key), ...)}.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key, not null
   * @return a lease on the chosen backend, or a lease granted nothing that says why
   */
  default Lease leaseByKey(String rule, CharSequence key) {
    return leaseByKeyHash(rule, keyHash(key), 0, new String[0], 0);
  }

  /**
   * Returns a lease on the backend of {@code key}: {@code leaseByKeyHash(rule, keyHash(key), ...)}.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key, not null
   * @return a lease on the chosen backend, or a lease granted nothing that says why
   */
  default Lease leaseByKey(String rule, byte[] key) {
    return leaseByKeyHash(rule, keyHash(key), 0, new String[0], 0);
  }

  /**
   * Returns a lease on the backend rule {@code rule} gives a connection without a key, as {@link
   * #pickAny} picks it; its {@link Lease#hash()} is the random hash a retry passes to {@link
   * #leaseByKeyHash}.
   *
   * @param rule the name of a load-balancing rule
   * @return a lease on the chosen backend, or a lease granted nothing that says why
   */
  Lease lease(String rule);

  /**
   * Returns a lease on {@link #select flow}'s backend: the flow is recorded in the flow table as a
   * proxied flow is (explain, the flow count and the drain see it), and closing the lease is {@link
   * #flowClosed}. For a client that binds its local port before connecting, so its 5-tuple is
   * known.
   *
   * @param flow the connection's 5-tuple, its local port already bound
   * @return a lease on the flow's backend, or a lease granted nothing that says why
   */
  Lease lease(FlowKey flow);

  /**
   * Explains where {@code key} goes in rule {@code rule} and why: the key and its hash, the
   * candidates with every backend left out and its reason, and the answer {@link #pickByKey} gives.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key
   * @return the explanation; for an undefined rule, one that says so
   */
  default KeyExplanation explainKey(String rule, long key) {
    return explainKeyHash(rule, Long.toString(key), keyHash(key));
  }

  /**
   * Explains where {@code key} goes in rule {@code rule}, as {@link #explainKey(String, long)}.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key, not null
   * @return the explanation; for an undefined rule, one that says so
   */
  default KeyExplanation explainKey(String rule, CharSequence key) {
    return explainKeyHash(rule, "\"" + key + "\"", keyHash(key));
  }

  /**
   * Explains where {@code key} goes in rule {@code rule}, as {@link #explainKey(String, long)}.
   *
   * @param rule the name of a load-balancing rule
   * @param key the application's key, not null
   * @return the explanation; for an undefined rule, one that says so
   */
  default KeyExplanation explainKey(String rule, byte[] key) {
    return explainKeyHash(rule, KeyExplanation.hex(key), keyHash(key));
  }

  /**
   * Explains where the key {@code keyText}, of hash {@code keyHash}, goes in rule {@code rule}.
   * Records nothing.
   *
   * @param rule the name of a load-balancing rule
   * @param keyText the key as the explanation shows it
   * @param keyHash the key's hash, from {@link #keyHash}
   * @return the explanation; for an undefined rule, one that says so
   */
  KeyExplanation explainKeyHash(String rule, String keyText, long keyHash);

  // ---------------------------------------------------------------- flows

  /**
   * Picks again for {@code flow} after its backend could not be reached: forgets the flow's backend
   * and selects with retry number {@code attempt} (1, 2, ...), which derives a new hash from the
   * flow's, as Envoy does for retries. The answer may be the same backend; a caller that wants
   * another tries the next attempt. Allocates nothing but the flow table's entry.
   *
   * @param flow the flow whose connect failed
   * @param attempt the retry number, 1 for the first retry
   * @return the backend and target for the retry, or a typed refusal
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
   * @param flow the flow whose connects failed
   * @param attempt the number of connect attempts already made, 1 or more
   * @param tried the ids of the backends whose connects failed, in the first {@code triedCount}
   *     elements; read, not kept
   * @param triedCount how many elements of {@code tried} are used
   * @return an untried backend and its target, or a typed refusal
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

  /**
   * Forgets {@code flow}, as when its connection closes; returns whether it was known.
   *
   * @param flow the flow's 5-tuple, as given to {@link #select}
   * @return true if the flow was in the flow table
   */
  boolean flowClosed(FlowKey flow);

  /** {@return the number of flows in the flow table} */
  long activeFlows();

  /**
   * Returns the number of recorded flows of rule {@code rule} on backend {@code backendId}.
   *
   * @param rule the name of a load-balancing rule
   * @param backendId the id of a backend of the rule's pool
   * @return the flows and leases of the rule counted on the backend; 0 for a backend not in the
   *     pool
   * @throws IllegalArgumentException if the rule is not defined
   */
  int activeFlows(String rule, String backendId);

  /**
   * Replaces the whole configuration, as a reload does. Established flows keep their backends;
   * rules, pools and backends that stay keep their health, probe history and flow counts; a rule
   * that is gone answers {@code NO_RULE} to new flows.
   *
   * @param config the new configuration, validated as a whole before any of it applies
   * @throws NullPointerException if {@code config} is null
   */
  void reconfigure(LoadBalancerConfig config);

  /** {@return the current configuration, with every run-time change applied} */
  LoadBalancerConfig config();

  /**
   * Adds {@code backend} to pool {@code pool}, or replaces the backend with the same id.
   *
   * @param pool the name of a defined pool
   * @param backend the backend to add
   * @throws IllegalArgumentException if the pool is not defined
   */
  void addBackend(String pool, Backend backend);

  /**
   * Removes backend {@code backendId} from pool {@code pool}: it gets no new flows, its recorded
   * flows continue until they close or idle out. Returns whether it was a member.
   *
   * @param pool the name of a defined pool
   * @param backendId the id of the backend to remove
   * @return true if the backend was a member of the pool
   * @throws IllegalArgumentException if the pool is not defined, or an inbound NAT rule names the
   *     backend
   */
  boolean removeBackend(String pool, String backendId);

  /**
   * Sets the weight of backend {@code backendId} in pool {@code pool}.
   *
   * @param pool the name of a defined pool
   * @param backendId the id of a backend of the pool
   * @param weight the new weight, 0 (no new flows) to 65535
   * @throws IllegalArgumentException if the pool or the backend is not defined, or the weight is
   *     outside 0-65535
   */
  void setWeight(String pool, String backendId, int weight);

  /**
   * Sets the admin state of backend {@code backendId} in pool {@code pool}.
   *
   * @param pool the name of a defined pool
   * @param backendId the id of a backend of the pool
   * @param state the new admin state
   * @throws IllegalArgumentException if the pool or the backend is not defined
   */
  void setAdminState(String pool, String backendId, AdminState state);

  /**
   * Sets the health override of backend {@code backendId} in pool {@code pool}: follow the probes,
   * or force it up or down in every rule that uses the pool.
   *
   * @param pool the name of a defined pool
   * @param backendId the id of a backend of the pool
   * @param override the new health override
   * @throws IllegalArgumentException if the pool or the backend is not defined
   */
  void setHealthOverride(String pool, String backendId, HealthOverride override);

  /**
   * Reports that the data plane could not connect to backend {@code backendId} for a flow of rule
   * {@code rule}: input to passive health ({@link OutlierDetection}). Cheap and non-blocking; an
   * unknown rule or backend is ignored, since a report may race a removal.
   *
   * @param rule the name of the rule the flow matched
   * @param backendId the id of the backend that could not be reached
   */
  void reportConnectFailure(String rule, String backendId);

  /**
   * Reports that the data plane connected to backend {@code backendId} for a flow of rule {@code
   * rule}, ending its run of connect failures. Cheap and non-blocking.
   *
   * @param rule the name of the rule the flow matched
   * @param backendId the id of the backend that was reached
   */
  void reportConnectSuccess(String rule, String backendId);

  /**
   * Returns the health of backend {@code backendId} for rule {@code rule}, with its recent probe
   * results.
   *
   * @param rule the name of a load-balancing rule
   * @param backendId the id of a backend of the rule's pool
   * @return the backend's health state, override, ejection and recent probe results
   * @throws IllegalArgumentException if the rule is not defined or the backend is not in its pool
   */
  BackendHealth health(String rule, String backendId);

  /**
   * Returns the health prober's counters: targets, probes completed and failed, lateness; {@link
   * ProberStats#NONE} when no rule has a probe.
   *
   * @return the prober's counters, or {@link ProberStats#NONE}
   */
  ProberStats proberStats();

  /**
   * Explains where {@code flow} goes and why: the rule, the hashed fields, the candidates, the
   * answer {@link #select} would give, whether it comes from the flow table, and every backend left
   * out with its reason. Records nothing; safe to call for any flow at any time.
   *
   * @param flow any 5-tuple
   * @return the explanation, never null
   */
  FlowExplanation explain(FlowKey flow);

  /**
   * Runs the troubleshooting checks against the live state and returns the findings, worst first:
   * failing probes, data ports that refuse while the probe passes, backend ports that accept
   * nowhere, uneven distribution of recent new flows, flows on backends out of rotation, hairpin
   * flows, rules with no healthy backend, and configuration smells. It connects to each backend's
   * data port once (TCP rules), so it blocks for at most about one connect timeout (1 s, or the
   * probe's timeout when shorter); do not call it on an event loop.
   *
   * @return the findings, worst first; empty when nothing is wrong
   */
  Diagnosis diagnose();

  // ---------------------------------------------------------------- membership sources

  /**
   * Attaches {@code source} to pool {@code pool}: from now on each of its answers is applied as one
   * reconfiguration of the pool (members added join, members gone leave through the drain path,
   * weights and states change in place), within {@code options}' guard; a failing source leaves the
   * pool as it was. Detach with the returned {@link io.lb4j.discovery.Discovery}'s {@code close()}.
   *
   * @param pool the name of a defined pool
   * @param source where the pool's members come from
   * @param options how often to ask, and the guard against a sudden loss of members
   * @return the attachment: its status, and {@code close()} to detach
   * @throws IllegalArgumentException if the pool is not defined, already has a source, or an
   *     inbound NAT rule names one of its backends
   */
  io.lb4j.discovery.Discovery attach(
      String pool,
      io.lb4j.discovery.MembershipSource source,
      io.lb4j.discovery.DiscoveryOptions options);

  /** {@return the status of every attached source, by pool name} */
  java.util.List<io.lb4j.discovery.DiscoveryStatus> discoveries();

  /**
   * Returns the fingerprint of rule {@code rule}'s selection now: 16 hex digits of a hash over what
   * decides where a new flow or key goes — the algorithm and its parameters (table size, points,
   * bounded load), the distribution mode, the flow-hash seed, and each backend in rotation with its
   * weight and target. Balancers whose fingerprints are equal pick the same backend for every new
   * flow and key; compare it across instances behind ECMP or DNS ({@code docs/scale-out.md}).
   *
   * @param rule the name of a load-balancing rule
   * @return 16 lowercase hex digits
   * @throws IllegalArgumentException if the rule is not defined
   */
  String selectionFingerprint(String rule);

  /**
   * Adds a listener of health changes, ended flows and reconfigurations.
   *
   * @param listener the listener: quick, non-blocking and thread-safe, as {@link
   *     LoadBalancerListener} requires
   */
  void addListener(LoadBalancerListener listener);

  /**
   * Removes {@code listener}, added before; returns whether it was there.
   *
   * @param listener a listener added before
   * @return true if the listener was there
   */
  boolean removeListener(LoadBalancerListener listener);

  /**
   * Stops probing and releases the balancer's resources; selections after it answer as before but
   * record nothing.
   */
  @Override
  void close();
}

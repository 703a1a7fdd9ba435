package io.lb4j;

/**
 * How a rule chooses a backend for a new flow: a consistent hash of the flow, or one of the LVS
 * schedulers.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum SelectionAlgorithm {
  /** Maglev hashing (Eisenbud et al., NSDI 2016, section 3.4), weighted; the default. */
  MAGLEV(true),
  /** Ketama-style ring hash (Karger et al., 1997) with points per unit of weight. */
  RING_HASH(true),
  /** Rendezvous, or highest-random-weight, hashing (Thaler and Ravishankar, 1998), weighted. */
  RENDEZVOUS(true),
  /** Jump consistent hash (Lamping and Veach, 2014), weighted by rejection. */
  JUMP(true),
  /** Round robin over available backends, ignoring weights (LVS {@code rr}). */
  ROUND_ROBIN(false),
  /** Smooth weighted round robin (nginx's algorithm; LVS {@code wrr}). */
  WEIGHTED_ROUND_ROBIN(false),
  /** Fewest active flows (LVS {@code lc}). */
  LEAST_CONNECTIONS(false),
  /** Fewest active flows per unit of weight (LVS {@code wlc}). */
  WEIGHTED_LEAST_CONNECTIONS(false),
  /** Two candidates drawn from the flow hash; the one with fewer active flows per weight wins. */
  POWER_OF_TWO_CHOICES(false);

  private final boolean consistentHash;

  SelectionAlgorithm(boolean consistentHash) {
    this.consistentHash = consistentHash;
  }

  /**
   * Returns whether the choice is a pure function of the flow hash and the backend set, so that two
   * balancers with the same configuration and seed choose alike.
   *
   * @return true for Maglev, ring hash, rendezvous and jump hash; false for the schedulers
   */
  public boolean isConsistentHash() {
    return consistentHash;
  }
}

package io.lb4j.core.select;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.spi.BackendSelector;
import java.util.List;
import java.util.Objects;
import java.util.function.IntSupplier;
import java.util.function.IntUnaryOperator;

/**
 * Builds the selectors behind every {@link SelectionAlgorithm}.
 *
 * <p>A selector is built from members, each a key (a backend's stable id) and a weight, and answers
 * the caller's index of a member. A member of weight 0 is present but receives nothing: a tombstone
 * for jump hash, skipped by the others. Members are sorted by key before any build, so the caller's
 * order never changes a result, and the tables are built with fixed seeds from the keys alone, so
 * every process builds the same table from the same members.
 *
 * <pre>{@code
 * BackendSelector maglev = Selectors.maglev(new String[] {"a", "b", "c"}, new int[] {1, 1, 2}, 65537);
 * int index = maglev.select(FlowHasher.hash(flow, DistributionMode.FIVE_TUPLE, seed));
 * }</pre>
 *
 * <p>The connection schedulers and bounded load read each member's active flows through {@code
 * active} (caller's index to count) and the total through {@code total}; the caller keeps the
 * counts.
 *
 * <p>Thread-safe.
 */
public final class Selectors {
  private Selectors() {}

  /**
   * Returns a description of why member {@code index} of a bounded-load {@code selector} takes no
   * new flow ("holds 12 flows, its bound is 12"), or null when it has room or the selector has no
   * bound.
   *
   * @param selector a selector built here
   * @param index the member's index, in the caller's order
   * @param active the member's active flows, for the message
   * @return the reason, or null
   */
  public static String overBound(BackendSelector selector, int index, int active) {
    if (selector instanceof BoundedLoadSelector b && b.full(index)) {
      return "holds " + active + " flows; its bound for the next new flow is " + b.bound(index);
    }
    return null;
  }

  /**
   * Returns Maglev over the members with table size {@code tableSize}, a prime.
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight, 0 or more, at the index of its key
   * @param tableSize the lookup table's size: a prime, at most 5,000,011
   * @return the selector; {@link BackendSelector#NONE} for every hash when all weights are 0
   * @throws IllegalArgumentException if the table size is not a prime up to 5,000,011, keys repeat
   *     or a weight is negative
   */
  public static BackendSelector maglev(String[] keys, int[] weights, int tableSize) {
    SelectionPolicy.maglev(tableSize); // validates the size
    return new MaglevSelector(new Members(keys, weights), tableSize);
  }

  /**
   * Returns a ketama-style ring with {@code pointsPerWeight} points per unit of weight.
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight, 0 or more, at the index of its key
   * @param pointsPerWeight the ring points per unit of weight, 1-10000
   * @return the selector
   * @throws IllegalArgumentException if {@code pointsPerWeight} is outside 1-10000, keys repeat or
   *     a weight is negative
   */
  public static BackendSelector ringHash(String[] keys, int[] weights, int pointsPerWeight) {
    SelectionPolicy.ringHash(pointsPerWeight); // validates the points
    return new RingHashSelector(new Members(keys, weights), pointsPerWeight);
  }

  /**
   * Returns weighted rendezvous (HRW) hashing; O(N) per pick.
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight, 0 or more, at the index of its key
   * @return the selector
   */
  public static BackendSelector rendezvous(String[] keys, int[] weights) {
    return new RendezvousSelector(new Members(keys, weights));
  }

  /**
   * Returns jump consistent hash with tombstones and weights by rejection.
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight, 0 or more, at the index of its key; 0 is a tombstone
   * @return the selector
   */
  public static BackendSelector jump(String[] keys, int[] weights) {
    return new JumpSelector(new Members(keys, weights));
  }

  /**
   * Returns round robin over the eligible members in key order, ignoring weights.
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight; only 0 (not eligible) or not 0 matters
   * @return the selector; it ignores the hash
   */
  public static BackendSelector roundRobin(String[] keys, int[] weights) {
    return RoundRobinSelector.plain(new Members(keys, weights));
  }

  /**
   * Returns smooth weighted round robin (nginx's sequence).
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight, 0 or more, at the index of its key
   * @return the selector; it ignores the hash
   */
  public static BackendSelector weightedRoundRobin(String[] keys, int[] weights) {
    return RoundRobinSelector.smoothWeighted(new Members(keys, weights));
  }

  /**
   * Returns least connections: the fewest active flows, ignoring weights.
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight; only 0 (not eligible) or not 0 matters
   * @param active the active flows of the member at an index, read on every pick
   * @return the selector; it ignores the hash
   */
  public static BackendSelector leastConnections(
      String[] keys, int[] weights, IntUnaryOperator active) {
    return new LeastConnectionsSelector(
        new Members(keys, weights), false, Objects.requireNonNull(active, "active"));
  }

  /**
   * Returns weighted least connections: the fewest active flows per unit of weight.
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight, 0 or more, at the index of its key
   * @param active the active flows of the member at an index, read on every pick
   * @return the selector; it ignores the hash
   */
  public static BackendSelector weightedLeastConnections(
      String[] keys, int[] weights, IntUnaryOperator active) {
    return new LeastConnectionsSelector(
        new Members(keys, weights), true, Objects.requireNonNull(active, "active"));
  }

  /**
   * Returns the power of two choices, weighted.
   *
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight, 0 or more, at the index of its key
   * @param active the active flows of the member at an index, read on every pick
   * @return the selector; its two random choices come from the hash
   */
  public static BackendSelector powerOfTwoChoices(
      String[] keys, int[] weights, IntUnaryOperator active) {
    return new PowerOfTwoChoicesSelector(
        new Members(keys, weights), Objects.requireNonNull(active, "active"));
  }

  /**
   * Returns {@code inner}, a consistent-hash selector over the same members, with loads bounded by
   * factor {@code c}.
   *
   * @param inner a consistent-hash selector built over {@code keys} and {@code weights}
   * @param keys the members' stable keys (backend ids), as given to {@code inner}
   * @param weights each member's weight, as given to {@code inner}
   * @param c the load factor: no member takes more than {@code c} times its weighted share of the
   *     flows; above 1 and at most 100
   * @param active the active flows of the member at an index, read on every pick
   * @param total the active flows of all members together, read on every pick
   * @return the bounded selector (Mirrokni, Thorup and Zadimoghaddam, 2018)
   * @throws IllegalArgumentException if {@code c} is not in (1, 100]
   */
  public static BackendSelector boundedLoad(
      BackendSelector inner,
      String[] keys,
      int[] weights,
      double c,
      IntUnaryOperator active,
      IntSupplier total) {
    if (!(c > 1.0 && c <= SelectionPolicy.MAX_BOUNDED_LOAD_FACTOR)) {
      throw new IllegalArgumentException("boundedLoadFactor: " + c + " (expected: > 1 and <= 100)");
    }
    return new BoundedLoadSelector(
        Objects.requireNonNull(inner, "inner"),
        new Members(keys, weights),
        c,
        Objects.requireNonNull(active, "active"),
        Objects.requireNonNull(total, "total"));
  }

  /**
   * Returns the selector of {@code policy} over the members, with bounded load when the policy has
   * it. {@code active} and {@code total} may be null for the consistent-hash algorithms without
   * bounded load.
   *
   * @param policy the algorithm, its settings and its bounded load
   * @param keys the members' stable keys (backend ids), unique; any order
   * @param weights each member's weight, 0 or more, at the index of its key
   * @param active the active flows of the member at an index, or null when not needed
   * @param total the active flows of all members together, or null when not needed
   * @return the selector
   * @throws NullPointerException if the policy needs counts and {@code active} or {@code total} is
   *     null
   */
  public static BackendSelector of(
      SelectionPolicy policy,
      String[] keys,
      int[] weights,
      IntUnaryOperator active,
      IntSupplier total) {
    Objects.requireNonNull(policy, "policy");
    BackendSelector selector;
    switch (policy.algorithm()) {
      case MAGLEV:
        selector = maglev(keys, weights, policy.maglevTableSize());
        break;
      case RING_HASH:
        selector = ringHash(keys, weights, policy.ringPointsPerWeight());
        break;
      case RENDEZVOUS:
        selector = rendezvous(keys, weights);
        break;
      case JUMP:
        selector = jump(keys, weights);
        break;
      case ROUND_ROBIN:
        return roundRobin(keys, weights);
      case WEIGHTED_ROUND_ROBIN:
        return weightedRoundRobin(keys, weights);
      case LEAST_CONNECTIONS:
        return leastConnections(keys, weights, active);
      case WEIGHTED_LEAST_CONNECTIONS:
        return weightedLeastConnections(keys, weights, active);
      case POWER_OF_TWO_CHOICES:
        return powerOfTwoChoices(keys, weights, active);
      default:
        throw new AssertionError(policy.algorithm());
    }
    return policy.isBoundedLoad()
        ? boundedLoad(selector, keys, weights, policy.boundedLoadFactor(), active, total)
        : selector;
  }

  /**
   * Returns the selector of {@code policy} over {@code backends}: keys are the ids, and a backend
   * that is not {@link AdminState#ENABLED} counts as weight 0. Indices are positions in the list.
   *
   * @param policy the algorithm, its settings and its bounded load
   * @param backends the members; ids unique
   * @param active the active flows of the backend at an index, or null when not needed
   * @param total the active flows of all backends together, or null when not needed
   * @return the selector
   */
  public static BackendSelector of(
      SelectionPolicy policy, List<Backend> backends, IntUnaryOperator active, IntSupplier total) {
    String[] keys = new String[backends.size()];
    int[] weights = new int[backends.size()];
    for (int i = 0; i < keys.length; i++) {
      Backend b = backends.get(i);
      keys[i] = b.id();
      weights[i] = b.adminState() == AdminState.ENABLED ? b.weight() : 0;
    }
    return of(policy, keys, weights, active, total);
  }
}

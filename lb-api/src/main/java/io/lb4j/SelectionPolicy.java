package io.lb4j;

/**
 * The selection algorithm of a rule with its settings: Maglev's table size, the ring's points per
 * unit of weight and the bounded-load factor.
 *
 * <pre>{@code
 * SelectionPolicy.maglev();                        // M = 65537
 * SelectionPolicy.maglev(655373).withBoundedLoad(); // c = 1.25
 * SelectionPolicy.ringHash(160);
 * SelectionPolicy.of(SelectionAlgorithm.LEAST_CONNECTIONS);
 * }</pre>
 *
 * <p>Bounded load (Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded Loads",
 * 2016) applies to the consistent-hash algorithms only: no backend takes a new flow while it holds
 * {@code ⌈c × (active + 1) × weight / totalWeight⌉} or more active flows; the flow goes to the next
 * backend in its hash order instead.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param algorithm the algorithm
 * @param maglevTableSize Maglev's lookup table size M, a prime (used by {@link
 *     SelectionAlgorithm#MAGLEV} only)
 * @param ringPointsPerWeight points on the ring per unit of a backend's weight (used by {@link
 *     SelectionAlgorithm#RING_HASH} only)
 * @param boundedLoadFactor c, greater than 1, or 0 for no bound
 */
public record SelectionPolicy(
    SelectionAlgorithm algorithm,
    int maglevTableSize,
    int ringPointsPerWeight,
    double boundedLoadFactor) {

  /** Maglev's default table size, 65537: Google's default (Maglev paper, section 5.3). */
  public static final int DEFAULT_MAGLEV_TABLE_SIZE = 65537;

  /**
   * The largest Maglev table: 5,000,011, Envoy's bound ({@code maglev.proto}), a 19 MiB {@code
   * int[]}.
   */
  public static final int MAX_MAGLEV_TABLE_SIZE = 5_000_011;

  /** Points per unit of weight on the ring by default: 160, as libketama and nginx use. */
  public static final int DEFAULT_RING_POINTS_PER_WEIGHT = 160;

  /** The most points per unit of weight: 10,000 (relative spread 1/sqrt(10000) = 1%). */
  public static final int MAX_RING_POINTS_PER_WEIGHT = 10_000;

  /**
   * The bounded-load factor when none is given: 1.25, as in the paper's evaluation, liblb and brpc.
   */
  public static final double DEFAULT_BOUNDED_LOAD_FACTOR = 1.25;

  /** The largest bounded-load factor accepted: 100. */
  public static final double MAX_BOUNDED_LOAD_FACTOR = 100.0;

  /**
   * Validates the settings.
   *
   * @param algorithm the algorithm
   * @param maglevTableSize Maglev's lookup table size M, a prime (used by {@link
   *     SelectionAlgorithm#MAGLEV} only)
   * @param ringPointsPerWeight points on the ring per unit of a backend's weight (used by {@link
   *     SelectionAlgorithm#RING_HASH} only)
   * @param boundedLoadFactor c, greater than 1, or 0 for no bound
   */
  public SelectionPolicy {
    Checks.notNull(algorithm, "algorithm");
    if (!isPrime(maglevTableSize) || maglevTableSize > MAX_MAGLEV_TABLE_SIZE) {
      throw new IllegalArgumentException(
          "maglevTableSize: "
              + maglevTableSize
              + " (expected: a prime <= "
              + MAX_MAGLEV_TABLE_SIZE
              + ")");
    }
    Checks.range("ringPointsPerWeight", ringPointsPerWeight, 1, MAX_RING_POINTS_PER_WEIGHT);
    if (boundedLoadFactor != 0
        && !(boundedLoadFactor > 1.0 && boundedLoadFactor <= MAX_BOUNDED_LOAD_FACTOR)) {
      throw new IllegalArgumentException(
          "boundedLoadFactor: "
              + boundedLoadFactor
              + " (expected: 0 for none, or > 1 and <= "
              + (int) MAX_BOUNDED_LOAD_FACTOR
              + ")");
    }
    if (boundedLoadFactor != 0 && !algorithm.isConsistentHash()) {
      throw new IllegalArgumentException(
          "boundedLoadFactor: "
              + boundedLoadFactor
              + " (expected: 0, bounded load applies to consistent-hash algorithms only, not "
              + algorithm
              + ")");
    }
  }

  /**
   * Returns the policy for {@code algorithm} with default settings.
   *
   * @param algorithm the algorithm
   * @return the policy with the algorithm's default table size or points, without bounded load
   */
  public static SelectionPolicy of(SelectionAlgorithm algorithm) {
    return new SelectionPolicy(
        algorithm, DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_RING_POINTS_PER_WEIGHT, 0);
  }

  /** {@return Maglev with the default table size, 65537} */
  public static SelectionPolicy maglev() {
    return of(SelectionAlgorithm.MAGLEV);
  }

  /**
   * Returns Maglev with table size {@code tableSize}, a prime. The paper recommends more than 100
   * entries per backend (section 3.4) for a balance within 1%.
   *
   * @param tableSize the lookup table's size: a prime, at most 5,000,011
   * @return the Maglev policy, without bounded load
   * @throws IllegalArgumentException if {@code tableSize} is not a prime up to 5,000,011
   */
  public static SelectionPolicy maglev(int tableSize) {
    return new SelectionPolicy(
        SelectionAlgorithm.MAGLEV, tableSize, DEFAULT_RING_POINTS_PER_WEIGHT, 0);
  }

  /**
   * Returns ring hash with {@code pointsPerWeight} points per unit of weight.
   *
   * @param pointsPerWeight the ring points per unit of weight, 1-10000
   * @return the ring hash policy, without bounded load
   * @throws IllegalArgumentException if {@code pointsPerWeight} is outside 1-10000
   */
  public static SelectionPolicy ringHash(int pointsPerWeight) {
    return new SelectionPolicy(
        SelectionAlgorithm.RING_HASH, DEFAULT_MAGLEV_TABLE_SIZE, pointsPerWeight, 0);
  }

  /**
   * Returns this policy with bounded load at the default factor, 1.25.
   *
   * @return a copy with bounded load at factor 1.25; this policy is unchanged
   * @throws IllegalArgumentException if the algorithm is not a consistent hash
   */
  public SelectionPolicy withBoundedLoad() {
    return withBoundedLoad(DEFAULT_BOUNDED_LOAD_FACTOR);
  }

  /**
   * Returns this policy with bounded load at factor {@code c}, or without it when {@code c} is 0.
   *
   * @param c the load factor: no backend takes more than {@code c} times the mean load; 0 for none,
   *     else above 1 and at most 100
   * @return a copy with the new factor; this policy is unchanged
   * @throws IllegalArgumentException if {@code c} is neither 0 nor in (1, 100], or the algorithm is
   *     not a consistent hash
   */
  public SelectionPolicy withBoundedLoad(double c) {
    return new SelectionPolicy(algorithm, maglevTableSize, ringPointsPerWeight, c);
  }

  /** {@return whether bounded load is on} */
  public boolean isBoundedLoad() {
    return boundedLoadFactor != 0;
  }

  /** Returns whether {@code n} is a prime, by trial division (n is at most a few million). */
  static boolean isPrime(int n) {
    if (n < 2) {
      return false;
    }
    if (n % 2 == 0) {
      return n == 2;
    }
    for (int d = 3; (long) d * d <= n; d += 2) {
      if (n % d == 0) {
        return false;
      }
    }
    return true;
  }
}

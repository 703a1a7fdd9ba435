package io.lb4j.spi;

/**
 * Maps a flow's 64-bit hash to the index of a backend, in the list the selector was built from.
 *
 * <p>This is the data-plane half of a selection algorithm: it must not lock, allocate or throw.
 * Built-in selectors come from {@code io.lb4j.core.select.Selectors}.
 *
 * <p>Implementations must be thread-safe; the built-in ones are immutable, except that the round
 * robin schedulers advance an atomic counter and the connection schedulers read live counts.
 */
@FunctionalInterface
public interface BackendSelector {

  /** Returned by {@link #select} when no backend may be chosen. */
  int NONE = -1;

  /**
   * Returns the index of the backend for {@code hash}, or {@link #NONE}.
   *
   * @param hash the flow or key hash, any 64 bits
   * @return an index into the backend list the selector was built over, or {@link #NONE} when no
   *     backend can be chosen
   */
  int select(long hash);

  /**
   * Returns the index of the backend for retry number {@code attempt} of {@code hash}: attempt 0 is
   * {@link #select(long)}, a later attempt selects with a hash derived from both, as Envoy does for
   * retries and bounded load. Consecutive attempts may return the same backend.
   *
   * @param hash the flow or key hash, any 64 bits
   * @param attempt the retry number, 0 for the first pick
   * @return an index into the backend list the selector was built over, or {@link #NONE}
   */
  default int select(long hash, int attempt) {
    return select(attempt == 0 ? hash : rehash(hash, attempt));
  }

  /**
   * Returns a well-mixed hash derived from {@code hash} and {@code attempt}: the SplitMix64
   * finalizer (Steele, Lea and Flood, 2014) of their combination.
   *
   * @param hash the flow or key hash
   * @param attempt the retry number
   * @return the derived hash; equal inputs give equal outputs in every process
   */
  static long rehash(long hash, int attempt) {
    long z = hash + attempt * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}

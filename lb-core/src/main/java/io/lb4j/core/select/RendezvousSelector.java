package io.lb4j.core.select;

import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.BackendSelector;

/**
 * Rendezvous, or highest-random-weight, hashing (Thaler and Ravishankar, "Using Name-Based Mappings
 * to Increase Hit Rates", IEEE/ACM ToN 1998), weighted by the logarithmic method (Schindelhauer and
 * Schomaker, "Weighted Distributed Hash Tables", SPAA 2005).
 *
 * <p>Each eligible member scores every flow: {@code mix(hash ^ keyHash)}, and with unequal weights
 * {@code w / -ln(u)} where {@code u} is that score as a number in (0, 1); the highest score wins,
 * ties to the first key. Removing a member moves only its flows, and a weight change moves flows
 * only to or from that member.
 *
 * <p>A pick costs O(N): one mix per member, plus a logarithm per member when weights differ. It
 * keeps no table, so a build is O(N) too.
 */
final class RendezvousSelector implements BackendSelector {
  private final long[] keyHashes;
  private final double[] weights;
  private final int[] owners;
  private final boolean uniform;

  RendezvousSelector(Members m) {
    int n = m.eligible;
    keyHashes = new long[n];
    weights = new double[n];
    owners = new int[n];
    uniform = m.uniformWeights();
    int k = 0;
    for (int s = 0; s < m.size; s++) {
      if (m.weights[s] > 0) {
        keyHashes[k] = m.keyHash(s, Members.KEY_SEED);
        weights[k] = m.weights[s];
        owners[k] = m.order[s];
        k++;
      }
    }
  }

  @Override
  public int select(long hash) {
    int n = keyHashes.length;
    if (n == 0) {
      return NONE;
    }
    int best = 0;
    if (uniform) {
      long bestScore = Hash64.mix64(hash ^ keyHashes[0]) ^ Long.MIN_VALUE;
      for (int i = 1; i < n; i++) {
        long score = Hash64.mix64(hash ^ keyHashes[i]) ^ Long.MIN_VALUE;
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
    } else {
      double bestScore = score(hash, 0);
      for (int i = 1; i < n; i++) {
        double score = score(hash, i);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
    }
    return owners[best];
  }

  private double score(long hash, int i) {
    return weights[i] / -Math.log(Hash64.unitInterval(Hash64.mix64(hash ^ keyHashes[i])));
  }
}

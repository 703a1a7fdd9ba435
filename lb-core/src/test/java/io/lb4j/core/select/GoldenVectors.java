package io.lb4j.core.select;

/**
 * Checked-in answers of the selectors. A change here is a deliberate break of every deployed
 * balancer's agreement with a new one: bump the version and say so in the release notes.
 */
final class GoldenVectors {
  private GoldenVectors() {}

  /**
   * Maglev, M = 7, keys web-1, web-2, web-3 of weight 1: the owner of each entry.
   *
   * <p>Derived by hand from the key hashes (XXH64 of the key with the offset and skip seeds): web-1
   * offset 6 skip 1, web-2 offset 5 skip 1, web-3 offset 1 skip 1. Round 1: web-1 takes 6, web-2
   * takes 5, web-3 takes 1. Round 2: web-1 takes 0; web-2 finds 6, 0, 1 taken and takes 2; web-3
   * finds 2 taken and takes 3. Round 3: web-1 finds 1, 2, 3 taken and takes 4. Full.
   */
  static final int[] MAGLEV_M7_WEB123 = {0, 2, 1, 2, 0, 1, 0};
}

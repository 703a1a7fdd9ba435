package io.lb4j.testing;

import io.lb4j.Backend;
import java.util.ArrayList;
import java.util.List;

/** Backends for tests, on loopback addresses 127.0.x.y only. */
public final class TestBackends {
  private TestBackends() {}

  /** Returns {@code n} enabled backends {@code prefix-0 ...} on 127.0.x.y, weight 1. */
  public static List<Backend> loopback(String prefix, int n) {
    List<Backend> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(Backend.of(prefix + "-" + i, "127.0." + (2 + i / 250) + "." + (2 + i % 250)));
    }
    return out;
  }

  /** Returns the keys {@code b-0000000 ...} for selector tests; key order is index order. */
  public static String[] keys(int n) {
    String[] keys = new String[n];
    for (int i = 0; i < n; i++) {
      keys[i] = String.format("b-%07d", i);
    }
    return keys;
  }

  /** Returns {@code n} weights of 1. */
  public static int[] ones(int n) {
    int[] w = new int[n];
    java.util.Arrays.fill(w, 1);
    return w;
  }
}

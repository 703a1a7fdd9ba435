package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowExplanation;
import io.lb4j.Frontend;
import io.lb4j.HealthOverride;
import io.lb4j.KeyExplanation;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Selection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.hash.Hash64;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Selection by application key: hashing, weights, health, schedulers, explain. */
class KeySelectionTest {
  private L4LoadBalancer lb;

  @AfterEach
  void close() {
    if (lb != null) {
      lb.close();
    }
  }

  static LoadBalancerConfig config(SelectionPolicy policy, int... weights) {
    Backend[] backends = new Backend[weights.length];
    for (int i = 0; i < weights.length; i++) {
      backends[i] = Backend.of("db-" + i, "127.0.0." + (2 + i)).withWeight(weights[i]);
    }
    return LoadBalancerConfig.builder()
        .frontend(Frontend.of("svc", "127.0.0.1"))
        .pool(BackendPool.of("db", backends))
        .rule(
            LoadBalancingRule.builder("shards")
                .frontend("svc")
                .frontendPort(5432)
                .backendPool("db")
                .backendPort(5432)
                .selection(policy)
                .build())
        .build();
  }

  static L4LoadBalancer balancer(LoadBalancerConfig config) {
    return L4LoadBalancer.builder().config(config).seed(7).build();
  }

  @Test
  void keyHash_longIsItsLittleEndianBytes_stringIsItsUtf8() {
    lb = balancer(config(SelectionPolicy.maglev(), 1, 1));
    byte[] le = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(42).array();
    assertEquals(lb.keyHash(le), lb.keyHash(42L));
    for (String s : List.of("", "user-42", "é", "日本語のキー", "a😀b", "x".repeat(100))) {
      assertEquals(lb.keyHash(s.getBytes(StandardCharsets.UTF_8)), lb.keyHash(s), s);
      assertEquals(lb.keyHash(s), lb.keyHash(new StringBuilder(s)), s);
    }
    assertEquals(Hash64.xxHash64(new byte[] {'k'}, 7), lb.keyHash("k"), "XXH64 with the seed");
    assertThrows(NullPointerException.class, () -> lb.keyHash((CharSequence) null));
  }

  @Test
  void pickByKey_sameKeySameBackend_andBalancersWithOneSeedAgree() {
    lb = balancer(config(SelectionPolicy.maglev(), 1, 1, 1));
    L4LoadBalancer other = balancer(config(SelectionPolicy.maglev(), 1, 1, 1));
    try {
      for (int k = 0; k < 2000; k++) {
        Selection s = lb.pickByKey("shards", "user-" + k);
        assertTrue(s.isSelected());
        assertEquals(s, lb.pickByKey("shards", "user-" + k), "stable");
        assertEquals(s.backend(), other.pickByKey("shards", "user-" + k).backend(), "agree");
        assertEquals(
            lb.pickByKey("shards", (long) k).backend(),
            other.pickByKey("shards", (long) k).backend());
      }
    } finally {
      other.close();
    }
  }

  @Test
  void pickByKey_spreadsByWeight() {
    lb = balancer(config(SelectionPolicy.maglev(), 1, 2, 1));
    Map<String, Integer> counts = new HashMap<>();
    int n = 40_000;
    for (long k = 0; k < n; k++) {
      counts.merge(lb.pickByKey("shards", k).backend().id(), 1, Integer::sum);
    }
    assertEquals(0.25, counts.get("db-0") / (double) n, 0.02, counts.toString());
    assertEquals(0.50, counts.get("db-1") / (double) n, 0.02, counts.toString());
    assertEquals(0.25, counts.get("db-2") / (double) n, 0.02, counts.toString());
  }

  @Test
  void pickByKey_unhealthyBackend_onlyItsKeysMove() {
    lb = balancer(config(SelectionPolicy.maglev(), 1, 1, 1, 1));
    Map<Long, String> before = new HashMap<>();
    for (long k = 0; k < 4000; k++) {
      before.put(k, lb.pickByKey("shards", k).backend().id());
    }
    lb.setHealthOverride("db", "db-2", HealthOverride.FORCE_DOWN);
    int moved = 0;
    for (long k = 0; k < 4000; k++) {
      String now = lb.pickByKey("shards", k).backend().id();
      assertNotEquals("db-2", now);
      if (!before.get(k).equals("db-2") && !before.get(k).equals(now)) {
        moved++;
      }
    }
    assertTrue(moved < 4000 * 0.03, "keys of healthy backends that moved: " + moved);
  }

  @Test
  void pickAny_roundRobinIgnoresKeys() {
    lb = balancer(config(SelectionPolicy.of(SelectionAlgorithm.ROUND_ROBIN), 1, 1, 1));
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      counts.merge(lb.pickAny("shards").backend().id(), 1, Integer::sum);
    }
    assertEquals(Map.of("db-0", 100, "db-1", 100, "db-2", 100), counts);
    Selection a = lb.pickByKey("shards", 5L);
    Selection b = lb.pickByKey("shards", 5L);
    assertNotEquals(a.backend(), b.backend(), "round robin moves on whatever the key");
  }

  @Test
  void pickAny_hashingAlgorithm_spreadsByWeight() {
    lb = balancer(config(SelectionPolicy.maglev(), 3, 1));
    int first = 0;
    for (int i = 0; i < 8000; i++) {
      if (lb.pickAny("shards").backend().id().equals("db-0")) {
        first++;
      }
    }
    assertEquals(0.75, first / 8000.0, 0.03);
  }

  @Test
  void pickByKey_unknownRule_namesItAndTheRules() {
    lb = balancer(config(SelectionPolicy.maglev(), 1));
    Selection s = lb.pickByKey("nope", 1L);
    assertEquals(Selection.Status.NO_RULE, s.status());
    assertEquals("no rule named 'nope' (rules: shards)", s.detail());
    assertFalse(lb.lease("nope").isGranted());
    assertThrows(NullPointerException.class, () -> lb.pickByKey(null, 1L));
  }

  @Test
  void pickByKey_noBackendAvailable_saysWhy() {
    lb = balancer(config(SelectionPolicy.maglev(), 1, 1));
    lb.setHealthOverride("db", "db-0", HealthOverride.FORCE_DOWN);
    lb.setHealthOverride("db", "db-1", HealthOverride.FORCE_DOWN);
    Selection s = lb.pickByKey("shards", "k");
    assertFalse(s.isSelected());
    assertTrue(s.toString().contains("none available"), s.toString());
  }

  @Test
  void explainKey_showsKeyHashAndAnswer() {
    lb = balancer(config(SelectionPolicy.maglev(), 1, 1, 1));
    lb.setHealthOverride("db", "db-1", HealthOverride.FORCE_DOWN);
    KeyExplanation e = lb.explainKey("shards", "user-42");
    assertEquals("\"user-42\"", e.key());
    assertEquals(lb.keyHash("user-42"), e.hash());
    assertEquals(lb.pickByKey("shards", "user-42"), e.selection());
    assertEquals(SelectionAlgorithm.MAGLEV, e.algorithm());
    assertEquals(List.of("db-1"), e.excluded().stream().map(c -> c.backendId()).toList());
    assertEquals(FlowExplanation.Exclusion.UNHEALTHY, e.excluded().get(0).exclusion());
    String text = e.toString();
    assertTrue(text.startsWith("key \"user-42\" in rule shards"), text);
    assertTrue(text.contains(String.format("hash %016x", e.hash())), text);
    assertTrue(text.contains("answer " + e.selection().backend().id()), text);
    assertTrue(text.contains("left out: db-1 UNHEALTHY"), text);
    assertEquals("42", lb.explainKey("shards", 42L).key());
    assertEquals("0x0aff", lb.explainKey("shards", new byte[] {10, -1}).key());
    KeyExplanation none = lb.explainKey("other", 1L);
    assertEquals(Selection.Status.NO_RULE, none.selection().status());
    assertTrue(none.toString().contains("no rule named 'other'"), none.toString());
  }

  @Test
  void listener_onReconfigured_followsMembership_untilRemoved() {
    lb = balancer(config(SelectionPolicy.maglev(), 1, 1));
    List<List<String>> seen = new java.util.ArrayList<>();
    io.lb4j.LoadBalancerListener l =
        new io.lb4j.LoadBalancerListener() {
          @Override
          public void onReconfigured(LoadBalancerConfig config) {
            seen.add(config.pool("db").backends().stream().map(Backend::id).toList());
          }
        };
    lb.addListener(l);
    lb.addBackend("db", Backend.of("db-9", "127.0.0.9"));
    lb.removeBackend("db", "db-0");
    lb.setWeight("db", "db-1", 1); // unchanged: no event
    lb.setWeight("db", "db-1", 3);
    assertEquals(
        List.of(List.of("db-0", "db-1", "db-9"), List.of("db-1", "db-9"), List.of("db-1", "db-9")),
        seen);
    assertTrue(lb.removeListener(l));
    assertFalse(lb.removeListener(l));
    lb.removeBackend("db", "db-9");
    assertEquals(3, seen.size(), "a removed listener hears nothing");
  }
}

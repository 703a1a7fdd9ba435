package io.lb4j.proxy;

import io.lb4j.discovery.DiscoveryOptions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A pool's {@code discovery:} block other than {@code static}: which {@link
 * io.lb4j.discovery.MembershipSourceProvider} makes its source, the provider's own settings, and
 * how lb4j applies the answers. Two blocks are equal when they would make the same source: a reload
 * that leaves a pool's block equal keeps its running source.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param type the provider's type, as written in {@code discovery.type}: {@code dns}
 * @param settings the block without {@code type}, {@code applyEmptyAnswer} and {@code
 *     maxRemovedPercent}, values as YAML gives them (strings, numbers, booleans, lists, maps); an
 *     unmodifiable deep copy
 * @param options the guard: {@code applyEmptyAnswer} and {@code maxRemovedPercent}
 */
public record PoolDiscovery(String type, Map<String, Object> settings, DiscoveryOptions options) {

  /** The type of the file's own {@code backends}, the default: no source. */
  public static final String STATIC = "static";

  /** Validates the fields and copies the settings. */
  public PoolDiscovery {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(options, "options");
    if (type.equals(STATIC)) {
      throw new IllegalArgumentException(
          "type: 'static' (expected: a source's type; a static pool has no PoolDiscovery)");
    }
    settings = frozenMap(Objects.requireNonNull(settings, "settings"));
  }

  /**
   * Returns the type and the names of the settings, {@code dns [name, resolver]}: not their values,
   * which may hold credentials, since this string is logged.
   */
  @Override
  public String toString() {
    return type + " " + settings.keySet();
  }

  private static Map<String, Object> frozenMap(Map<?, ?> m) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      out.put(String.valueOf(e.getKey()), frozen(e.getValue()));
    }
    return Collections.unmodifiableMap(out);
  }

  private static Object frozen(Object v) {
    if (v instanceof Map<?, ?> m) {
      return frozenMap(m);
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>(l.size());
      for (Object o : l) {
        out.add(frozen(o));
      }
      return Collections.unmodifiableList(out);
    }
    return v; // a string, number, boolean or null: immutable
  }
}

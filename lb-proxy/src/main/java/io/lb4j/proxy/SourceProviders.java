package io.lb4j.proxy;

import io.lb4j.discovery.MembershipSourceProvider;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link MembershipSourceProvider}s on the class path, by type, found with {@link
 * ServiceLoader}: lb-dns, lb-xds and lb-kubernetes register theirs in {@code
 * META-INF/services/io.lb4j.discovery.MembershipSourceProvider}; the proxy depends on none of them.
 * {@code static} (the file's own {@code backends}) is no provider.
 *
 * <p>Immutable and thread-safe.
 */
final class SourceProviders {
  private static final Logger logger = LoggerFactory.getLogger(SourceProviders.class);

  /** Providers that fail to load before the search stops: a broken registration repeats. */
  private static final int MAX_LOAD_ERRORS = 16;

  private final Map<String, MembershipSourceProvider> byType;

  private SourceProviders(Map<String, MembershipSourceProvider> byType) {
    this.byType = Collections.unmodifiableMap(byType);
  }

  /**
   * Returns the providers the class loader of lb-proxy finds. Of two providers of one type the
   * first found is used, and the other is logged; a provider that cannot be loaded is logged and
   * left out (its type is then unknown, and a file using it is refused saying which are known).
   */
  static SourceProviders load() {
    Map<String, MembershipSourceProvider> byType = new TreeMap<>();
    ServiceLoader<MembershipSourceProvider> loader =
        ServiceLoader.load(MembershipSourceProvider.class, SourceProviders.class.getClassLoader());
    var it = loader.iterator();
    // bounded: after an error the iterator only makes "a best effort" to go on
    for (int errors = 0; errors < MAX_LOAD_ERRORS; ) {
      MembershipSourceProvider p;
      try {
        if (!it.hasNext()) {
          break;
        }
        p = it.next();
      } catch (ServiceConfigurationError e) {
        errors++;
        logger.warn("a membership source provider cannot be loaded, left out: {}", e.toString());
        continue;
      }
      String type = p.type();
      if (type == null || type.equals(PoolDiscovery.STATIC)) {
        logger.warn("membership source provider {} has type {}, left out", p.getClass(), type);
        continue;
      }
      MembershipSourceProvider first = byType.putIfAbsent(type, p);
      if (first != null) {
        logger.warn(
            "two membership source providers of type '{}': {} is used, {} is not",
            type,
            first.getClass().getName(),
            p.getClass().getName());
      }
    }
    return new SourceProviders(byType);
  }

  /** Returns the provider of {@code type}, or null. */
  MembershipSourceProvider get(String type) {
    return byType.get(type);
  }

  /** Returns the known types, {@code static} first, the rest sorted: {@code [static, dns, xds]}. */
  List<String> types() {
    List<String> types = new ArrayList<>();
    types.add(PoolDiscovery.STATIC);
    types.addAll(byType.keySet());
    return types;
  }

  /** Returns the known types as text, as {@link #types()} lists them. */
  String known() {
    return types().toString();
  }
}

package io.lb4j.proxy;

import io.lb4j.LoadBalancer;
import io.lb4j.discovery.Discovery;
import io.lb4j.discovery.MembershipSource;
import io.lb4j.discovery.MembershipSourceProvider;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The membership sources of a standalone proxy's pools, attached to its balancer: started with the
 * proxy, kept, replaced or closed by a reload as the pools' {@code discovery:} blocks say, and
 * closed at shutdown.
 *
 * <p>A reload is two steps around the balancer's reconfiguration, so that a refused reload changes
 * nothing: {@link #prepare} makes the sources of new and changed blocks (not started; a provider's
 * failure refuses the reload), then {@link #commit} — after the proxy took the new configuration —
 * closes the sources of removed and changed blocks and attaches the new ones, or {@link #abandon}
 * closes what {@code prepare} made. A pool whose block is unchanged keeps its running source, and
 * the balancer keeps the members that source gave it (its reconfiguration keeps the members of
 * attached pools). A changed block keeps the pool's members until the new source's first answer; a
 * block removed (the pool is {@code static} again) gives the pool the file's {@code backends}.
 *
 * <p>Thread-safe.
 */
final class PoolSources implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(PoolSources.class);

  private final LoadBalancer lb;
  private final Map<String, Running> running = new LinkedHashMap<>(); // guarded by this
  private boolean closed; // guarded by this

  /** A pool's source: its block, and its attachment to the balancer. */
  private record Running(PoolDiscovery block, MembershipSource source, Discovery discovery) {}

  /**
   * What a reload changes: the sources made for new and changed blocks, not yet started, and the
   * pools whose running source goes.
   */
  static final class Plan {
    final Map<String, PoolDiscovery> next;
    final Map<String, MembershipSource> made = new LinkedHashMap<>();
    final List<String> closing = new ArrayList<>();

    Plan(Map<String, PoolDiscovery> next) {
      this.next = next;
    }

    /** Returns whether the plan changes no source. */
    boolean isEmpty() {
      return made.isEmpty() && closing.isEmpty();
    }
  }

  PoolSources(LoadBalancer lb) {
    this.lb = Objects.requireNonNull(lb, "lb");
  }

  /**
   * Makes, unstarted, a source for each pool of {@code next} whose block is new or differs from the
   * running one.
   *
   * @throws IllegalArgumentException naming the pool when a provider is missing or refuses its
   *     settings; the sources made so far are closed
   */
  synchronized Plan prepare(Map<String, PoolDiscovery> next) {
    Plan plan = new Plan(Map.copyOf(next));
    SourceProviders providers = null;
    try {
      for (Map.Entry<String, PoolDiscovery> e : next.entrySet()) {
        Running r = running.get(e.getKey());
        if (r != null && r.block().equals(e.getValue())) {
          continue; // unchanged: keeps running, with its members
        }
        if (providers == null) {
          providers = SourceProviders.load();
        }
        plan.made.put(e.getKey(), make(providers, e.getKey(), e.getValue()));
      }
    } catch (RuntimeException | LinkageError e) {
      abandon(plan);
      throw e;
    }
    for (Map.Entry<String, Running> e : running.entrySet()) {
      PoolDiscovery wanted = next.get(e.getKey());
      if (wanted == null || !wanted.equals(e.getValue().block())) {
        plan.closing.add(e.getKey());
      }
    }
    return plan;
  }

  private static MembershipSource make(
      SourceProviders providers, String pool, PoolDiscovery block) {
    MembershipSourceProvider provider = providers.get(block.type());
    if (provider == null) { // the file was checked with the same class path: not expected
      throw new IllegalArgumentException(
          "pool '"
              + pool
              + "': discovery type '"
              + block.type()
              + "' (expected one of: "
              + providers.known()
              + ")");
    }
    MembershipSource source;
    try {
      source = provider.create(pool, block.settings());
    } catch (RuntimeException | LinkageError e) {
      throw new IllegalArgumentException(
          "pool '" + pool + "': discovery type '" + block.type() + "': " + e.getMessage(), e);
    }
    if (source == null) {
      throw new IllegalArgumentException(
          "pool '" + pool + "': discovery type '" + block.type() + "' made no source");
    }
    return source;
  }

  /** Closes the sources {@code plan} made, unstarted: the reload was refused. */
  void abandon(Plan plan) {
    for (Map.Entry<String, MembershipSource> e : plan.made.entrySet()) {
      closeQuietly(e.getKey(), e.getValue());
    }
  }

  /**
   * Applies {@code plan} after the balancer took the configuration it was made for: closes the
   * sources of removed and changed blocks, runs {@code reapply} (the balancer's reconfiguration
   * again) when a pool lost its source, so that it takes the file's {@code backends}, and attaches
   * and starts the sources made.
   */
  synchronized void commit(Plan plan, Runnable reapply) {
    if (closed) {
      abandon(plan);
      return;
    }
    // first the pools that become static, and the reconfiguration again that gives them the
    // file's backends; only then the changed ones, which keep their members meanwhile
    boolean toStatic = false;
    for (String pool : plan.closing) {
      if (!plan.next.containsKey(pool)) {
        detach(pool, "no discovery in the file");
        toStatic = true;
      }
    }
    if (toStatic) {
      reapply.run();
    }
    for (String pool : plan.closing) {
      if (plan.next.containsKey(pool)) {
        detach(pool, "its discovery changed");
      }
    }
    for (Map.Entry<String, MembershipSource> e : plan.made.entrySet()) {
      String pool = e.getKey();
      MembershipSource source = e.getValue();
      try {
        Discovery d = lb.attach(pool, source, plan.next.get(pool).options());
        running.put(pool, new Running(plan.next.get(pool), source, d));
      } catch (RuntimeException | LinkageError failed) { // checked when the file was read
        logger.error(
            "pool {}: source {} cannot be attached, the pool keeps its members: {}",
            pool,
            plan.next.get(pool),
            failed.toString());
        closeQuietly(pool, source);
      }
    }
  }

  /** Returns the running source of {@code pool}, or null (for tests and the admin endpoint). */
  synchronized MembershipSource source(String pool) {
    Running r = running.get(pool);
    return r == null ? null : r.source();
  }

  /** Closes every source; the pools keep their members. Idempotent. */
  @Override
  public synchronized void close() {
    closed = true;
    for (String pool : new ArrayList<>(running.keySet())) {
      detach(pool, "shutdown");
    }
  }

  /** Detaches and closes the running source of {@code pool}; a source's failure is logged. */
  private void detach(String pool, String why) {
    Running r = running.remove(pool);
    String describe;
    try {
      describe = r.source().describe();
    } catch (RuntimeException e) {
      describe = r.block().toString();
    }
    try {
      r.discovery().close();
      logger.info("pool {}: source {} closed ({})", pool, describe, why);
    } catch (RuntimeException e) {
      logger.warn("pool {}: source {} failed to close ({}): {}", pool, describe, why, e.toString());
    }
  }

  private static void closeQuietly(String pool, MembershipSource source) {
    try {
      source.close();
    } catch (RuntimeException e) {
      logger.warn("pool {}: an unstarted source did not close: {}", pool, e.toString());
    }
  }
}

package io.lb4j.core;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Durations;
import io.lb4j.HealthOverride;
import io.lb4j.InboundNatRule;
import io.lb4j.discovery.Discovery;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The membership sources attached to a balancer's pools, and how their answers become pool
 * reconfigurations: one rebuild per answer that changes the pool, none for an answer equal to it,
 * the last good members kept on a failure or a refused answer, and a log line per change of a
 * source's state (not per failure).
 *
 * <p>Thread-safe: attachments and answers are applied under {@link ControlPlane#lock}.
 */
final class Discoveries {
  private static final Logger logger = LoggerFactory.getLogger(Discoveries.class);

  private final ControlPlane control;
  private final InstantSource clock;
  private final Map<String, Attached> byPool = new LinkedHashMap<>(); // guarded by control.lock

  Discoveries(ControlPlane control, InstantSource clock) {
    this.control = control;
    this.clock = clock;
  }

  Discovery attach(String pool, MembershipSource source, DiscoveryOptions options) {
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(options, "options");
    Attached a;
    synchronized (control.lock) {
      BackendPool p = control.configLocked().pool(pool);
      if (p == null) {
        throw new IllegalArgumentException(
            "pool: '"
                + pool
                + "' (expected: one of "
                + control.configLocked().pools().stream().map(BackendPool::name).toList()
                + ")");
      }
      if (byPool.containsKey(pool)) {
        throw new IllegalArgumentException(
            "pool: '"
                + pool
                + "' already has a source, "
                + byPool.get(pool).source.describe()
                + " (expected: one source per pool)");
      }
      for (InboundNatRule nat : control.configLocked().inboundNatRules()) {
        if (nat.backendPool().equals(pool)) {
          throw new IllegalArgumentException(
              "pool: '"
                  + pool
                  + "' has inbound NAT rule '"
                  + nat.name()
                  + "' naming its backend '"
                  + nat.backend()
                  + "' (expected: a pool no NAT rule uses; a source may remove any member)");
        }
      }
      a = new Attached(pool, source, options, p.backends().size());
      byPool.put(pool, a);
    }
    logger.info("pool {}: members from {}", pool, source.describe());
    source.start(a);
    return a;
  }

  /**
   * Returns {@code next} with the members each attached source gave its pool, so a reload keeps
   * discovered members instead of the file's. Under the lock.
   */
  io.lb4j.LoadBalancerConfig keepDiscoveredLocked(io.lb4j.LoadBalancerConfig next) {
    io.lb4j.LoadBalancerConfig out = next;
    for (String pool : byPool.keySet()) {
      BackendPool now = control.configLocked().pool(pool);
      if (now != null && next.pool(pool) != null) {
        out = out.withPool(now);
      }
    }
    return out;
  }

  List<DiscoveryStatus> statuses() {
    synchronized (control.lock) {
      List<DiscoveryStatus> out = new ArrayList<>();
      for (Attached a : byPool.values()) {
        out.add(a.statusLocked());
      }
      return out;
    }
  }

  /** Detaches and closes every source. */
  void closeAll() {
    List<Attached> all;
    synchronized (control.lock) {
      all = new ArrayList<>(byPool.values());
    }
    for (Attached a : all) {
      a.close();
    }
  }

  /** Returns the backends a source's answer makes of a pool, in the answer's order. */
  static List<Backend> backends(List<Member> members) {
    List<Backend> out = new ArrayList<>(members.size());
    Set<String> ids = new HashSet<>();
    for (Member m : members) {
      if (!ids.add(m.id())) {
        throw new IllegalArgumentException(
            "members: id '" + m.id() + "' twice (expected: one member per id)");
      }
      out.add(
          new Backend(
              m.id(),
              m.address(),
              m.port(),
              m.weight(),
              m.state() == Member.State.DRAINING ? AdminState.DRAINING : AdminState.ENABLED,
              m.state() == Member.State.UNHEALTHY
                  ? HealthOverride.FORCE_DOWN
                  : HealthOverride.FOLLOW_PROBE));
    }
    return out;
  }

  /** One source on one pool. */
  private final class Attached implements MembershipSource.Listener, Discovery {
    final String pool;
    final MembershipSource source;
    final DiscoveryOptions options;

    // Guarded by control.lock.
    boolean closed;
    DiscoveryStatus.State state = DiscoveryStatus.State.WAITING;
    int members;
    Instant lastGood;
    String lastProblem;
    Instant lastProblemAt;
    long applied;
    long unchanged;
    long refused;
    long failures;

    Attached(String pool, MembershipSource source, DiscoveryOptions options, int members) {
      this.pool = pool;
      this.source = source;
      this.options = options;
      this.members = members;
    }

    @Override
    public void onMembers(List<Member> answer) {
      List<Backend> wanted;
      try {
        wanted = backends(List.copyOf(answer));
      } catch (RuntimeException e) { // a source's bug: say so, keep the pool
        onFailure("malformed answer: " + e.getMessage());
        return;
      }
      boolean changed = false;
      synchronized (control.lock) {
        if (closed || control.closedLocked()) {
          return;
        }
        BackendPool current = control.configLocked().pool(pool);
        if (current == null) {
          problem(DiscoveryStatus.State.FAILING, "the pool is no longer configured");
          return;
        }
        List<Backend> have = current.backends();
        if (new HashSet<>(have).equals(new HashSet<>(wanted))) {
          unchanged++;
          good(wanted.size());
          return;
        }
        Set<String> wantedIds = new HashSet<>();
        for (Backend b : wanted) {
          wantedIds.add(b.id());
        }
        int removed = 0;
        for (Backend b : have) {
          removed += wantedIds.contains(b.id()) ? 0 : 1;
        }
        String refusal = null;
        if (wanted.isEmpty() && !have.isEmpty() && !options.applyEmptyAnswer()) {
          refusal =
              "an empty answer would remove all "
                  + have.size()
                  + " members; empty answers are not applied (applyEmptyAnswer: false)";
        } else if (lastGood != null // the first answer replaces the configuration's members
            && removed * 100L > (long) options.maxRemovedPercent() * have.size()) {
          refusal =
              "the answer would remove "
                  + removed
                  + " of "
                  + have.size()
                  + " members at once, more than maxRemovedPercent "
                  + options.maxRemovedPercent()
                  + "%";
        }
        if (refusal != null) {
          refused++;
          problem(DiscoveryStatus.State.REFUSED, refusal);
          return;
        }
        control.replacePoolLocked(pool, wanted);
        applied++;
        good(wanted.size());
        changed = true;
      }
      if (changed) {
        control.reconfigured();
      }
    }

    @Override
    public void onFailure(String reason) {
      synchronized (control.lock) {
        if (closed) {
          return;
        }
        failures++;
        problem(DiscoveryStatus.State.FAILING, Objects.requireNonNull(reason, "reason"));
      }
    }

    /** Records a good answer; logs the recovery once. Under the lock. */
    private void good(int count) {
      if (state != DiscoveryStatus.State.OK && state != DiscoveryStatus.State.WAITING) {
        logger.info(
            "pool {}: source {} answers again ({} members); it was {}: {}",
            pool,
            source.describe(),
            count,
            state,
            lastProblem);
      }
      state = DiscoveryStatus.State.OK;
      members = count;
      lastGood = clock.instant();
    }

    /** Records a failure or refusal; logs it once per change of state. Under the lock. */
    private void problem(DiscoveryStatus.State now, String what) {
      boolean news = state != now;
      state = now;
      lastProblem = what;
      lastProblemAt = clock.instant();
      if (news) {
        logger.warn(
            "pool {}: source {} {}: {}; keeping the {} members of {}",
            pool,
            source.describe(),
            now == DiscoveryStatus.State.REFUSED ? "answer refused" : "failing",
            what,
            members,
            lastGood == null
                ? "the configuration (no good answer yet)"
                : "the last good answer, "
                    + Durations.format(
                        Duration.ofSeconds(Duration.between(lastGood, lastProblemAt).toSeconds()))
                    + " ago");
      }
    }

    DiscoveryStatus statusLocked() {
      return new DiscoveryStatus(
          pool,
          source.describe(),
          state,
          members,
          lastGood,
          lastProblem,
          lastProblemAt,
          applied,
          unchanged,
          refused,
          failures);
    }

    @Override
    public DiscoveryStatus status() {
      synchronized (control.lock) {
        return statusLocked();
      }
    }

    @Override
    public void close() {
      synchronized (control.lock) {
        if (closed) {
          return;
        }
        closed = true;
        byPool.remove(pool, this);
      }
      source.close();
      logger.info("pool {}: source {} detached", pool, source.describe());
    }
  }
}

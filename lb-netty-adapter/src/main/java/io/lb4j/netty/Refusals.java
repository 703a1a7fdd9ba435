package io.lb4j.netty;

import io.lb4j.IpLiteral;
import io.lb4j.spi.Ticker;
import java.net.InetAddress;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connections a rule's frontend refused, by reason: counts since the proxy started, and, for
 * the frontend options in force now, counts by what refused them (the deny network, the allow list,
 * the limit) and source, and the last {@value #RECENT} refused clients.
 *
 * <p>The second part is an <em>episode</em>: it begins when the proxy starts and again whenever a
 * reload changes the rule's frontend or that frontend's options, so that a fix applied by reload (a
 * deny entry removed, a source allowed, a limit raised) starts from zero. {@code diagnose} reports
 * an episode's refusals while its last one is at most {@link #RECENT_WINDOW} old.
 *
 * <p>Each refusal is also logged at WARN, at most once per reason every {@link
 * LogLimiter#WINDOW_NANOS 10 s} with the count of those left out ({@code (41 more suppressed)}):
 * {@code NO_BACKEND} says that the rule has no backend left, the others name the source and what
 * refused it.
 *
 * <p>Recording is for the refusal path only: a few adder increments, one map lookup and the record
 * of the refused client; a connection that is admitted touches nothing here. Sources are counted
 * one by one up to {@value #MAX_SOURCES} per episode, the rest together as other sources, so a scan
 * from many addresses cannot grow the map.
 *
 * <p>Thread-safe.
 */
public final class Refusals {
  /** How many refused clients are kept, most recent first. */
  static final int RECENT = 8;

  /** The most (source, reason, match) groups counted one by one in an episode. */
  static final int MAX_SOURCES = 64;

  /**
   * How long after its last refusal an episode is still reported by {@code diagnose}: the window of
   * the balancer's recent new flows (10 minutes), so that both speak of the same recent past.
   */
  static final long RECENT_WINDOW_NANOS = 10L * 60 * 1_000_000_000L;

  /** {@link #RECENT_WINDOW_NANOS} as text. */
  static final String RECENT_WINDOW = "10m";

  private static final RefusalReason[] REASONS = RefusalReason.values();

  private static final Logger logger = LoggerFactory.getLogger(Refusals.class);

  private final String rule;
  private final Ticker ticker;
  private final InstantSource clock;
  private final LongAdder[] total = adders();
  private final LogLimiter[] warnings = limiters();
  private volatile Episode episode;

  Refusals(
      String rule, Ticker ticker, InstantSource clock, String frontend, FrontendOptions options) {
    this.rule = rule;
    this.ticker = ticker;
    this.clock = clock;
    this.episode = new Episode(frontend, options, clock.instant());
  }

  private static LongAdder[] adders() {
    LongAdder[] a = new LongAdder[REASONS.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }

  /**
   * Begins a new episode if the rule's frontend or its options changed; called on start and after a
   * reload took effect.
   */
  void options(String frontend, FrontendOptions options) {
    Episode e = episode;
    if (!e.frontend.equals(frontend) || !e.options.equals(options)) {
      episode = new Episode(frontend, options, clock.instant());
    }
  }

  private static LogLimiter[] limiters() {
    LogLimiter[] a = new LogLimiter[REASONS.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = new LogLimiter();
    }
    return a;
  }

  /**
   * Counts a refusal of {@code source} for {@code reason}, refused by {@code match}, and logs it at
   * WARN unless one of the same reason was logged less than 10 s ago.
   */
  void record(RefusalReason reason, InetAddress source, String match) {
    total[reason.ordinal()].increment();
    long now = ticker.read();
    episode.record(reason, source, match, now, clock.instant());
    long suppressed = warnings[reason.ordinal()].pass(now);
    if (suppressed >= 0 && logger.isWarnEnabled()) {
      String more = suppressed == 0 ? "" : " (" + suppressed + " more suppressed)";
      if (reason == RefusalReason.NO_BACKEND) {
        logger.warn(
            "rule {} has no backend left: refusing its connections ({}), the last from {}{}",
            rule,
            match,
            IpLiteral.format(source),
            more);
      } else {
        logger.warn(
            "rule {}: refused a connection from {} on frontend {}: {} {}{}",
            rule,
            IpLiteral.format(source),
            episode.frontend,
            reason,
            match,
            more);
      }
    }
  }

  Episode episode() {
    return episode;
  }

  long now() {
    return ticker.read();
  }

  /** {@return the counts and recent refused clients now} */
  public Snapshot snapshot() {
    Episode e = episode;
    return new Snapshot(
        e.frontend, counts(total), e.since, counts(e.byReason), e.lastAt, e.recent());
  }

  private static Map<RefusalReason, Long> counts(LongAdder[] adders) {
    Map<RefusalReason, Long> m = new EnumMap<>(RefusalReason.class);
    for (RefusalReason r : REASONS) {
      long n = adders[r.ordinal()].sum();
      if (n > 0) {
        m.put(r, n);
      }
    }
    return m;
  }

  /**
   * What refused a group of connections, and from which source; past {@link #MAX_SOURCES} groups,
   * one group per reason and match without a source (other sources), and past twice that, one per
   * reason with neither (a match that varies, such as a PROXY header's error, cannot grow the map).
   */
  record Group(RefusalReason reason, String match, InetAddress source) {}

  /** The refusals under one set of frontend options. */
  static final class Episode {
    final String frontend;
    final FrontendOptions options;
    final Instant since;
    final LongAdder[] byReason = adders();
    final ConcurrentHashMap<Group, LongAdder> groups = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<RefusedClient> ring = new AtomicReferenceArray<>(RECENT);
    private final AtomicLong next = new AtomicLong();
    volatile long lastNanos;
    volatile Instant lastAt;

    Episode(String frontend, FrontendOptions options, Instant since) {
      this.frontend = frontend;
      this.options = options;
      this.since = since;
    }

    void record(RefusalReason reason, InetAddress source, String match, long nanos, Instant at) {
      byReason[reason.ordinal()].increment();
      Group g = new Group(reason, match, source);
      LongAdder n = groups.get(g);
      if (n == null) {
        int size = groups.size();
        Group key =
            size < MAX_SOURCES
                ? g
                : size < 2 * MAX_SOURCES
                    ? new Group(reason, match, null) // other sources, same match
                    : new Group(reason, null, null); // other sources and matches
        n = groups.computeIfAbsent(key, k -> new LongAdder());
      }
      n.increment();
      lastNanos = nanos;
      lastAt = at;
      ring.set(
          (int) (next.getAndIncrement() % RECENT), new RefusedClient(source, reason, match, at));
    }

    /** Returns whether anything was refused in this episode. */
    boolean any() {
      return lastAt != null;
    }

    /** Returns the refused clients kept, most recent first. */
    List<RefusedClient> recent() {
      long n = next.get();
      List<RefusedClient> out = new ArrayList<>(RECENT);
      for (long i = n - 1; i >= 0 && i >= n - RECENT; i--) {
        RefusedClient c = ring.get((int) (i % RECENT));
        if (c != null) {
          out.add(c);
        }
      }
      return out;
    }
  }

  /**
   * A rule's refusals at one moment.
   *
   * <p>Instances are immutable and thread-safe.
   *
   * @param frontend the rule's frontend
   * @param total refusals since the proxy started, by reason (reasons never seen are left out)
   * @param since when the frontend options in force took effect (start, or the reload that changed
   *     them)
   * @param sinceOptions refusals since then, by reason
   * @param last the last refusal since then, or null
   * @param recent the last refused clients since then, most recent first
   */
  public record Snapshot(
      String frontend,
      Map<RefusalReason, Long> total,
      Instant since,
      Map<RefusalReason, Long> sinceOptions,
      Instant last,
      List<RefusedClient> recent) {
    /**
     * Copies the maps and the list.
     *
     * @param frontend the rule's frontend
     * @param total refusals since the proxy started, by reason (reasons never seen are left out)
     * @param since when the frontend options in force took effect (start, or the reload that
     *     changed them)
     * @param sinceOptions refusals since then, by reason
     * @param last the last refusal since then, or null
     * @param recent the last refused clients since then, most recent first
     */
    public Snapshot {
      Objects.requireNonNull(frontend, "frontend");
      Objects.requireNonNull(since, "since");
      total = Collections.unmodifiableMap(new EnumMap<>(ensure(total)));
      sinceOptions = Collections.unmodifiableMap(new EnumMap<>(ensure(sinceOptions)));
      recent = List.copyOf(recent);
    }

    private static Map<RefusalReason, Long> ensure(Map<RefusalReason, Long> m) {
      return m.isEmpty() ? new EnumMap<>(RefusalReason.class) : m;
    }
  }
}

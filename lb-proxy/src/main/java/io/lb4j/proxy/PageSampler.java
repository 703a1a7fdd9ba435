package io.lb4j.proxy;

import io.lb4j.BackendHealth;
import io.lb4j.HealthEvent;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.ProbeResult;
import io.lb4j.Rule;
import io.lb4j.netty.NettyL4Proxy;
import io.lb4j.spi.Ticker;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the admin page draws over time: every {@link #INTERVAL} (5 s) a sample per rule and backend
 * of the new connections per second since the last sample and of the probe latency — the slowest
 * probe that completed in the interval, or the latest before it when none did (probes and samples
 * do not tick together: a probe every 5 s falls twice into some intervals and into none of their
 * neighbours) — kept in a ring of the last {@link #SAMPLES} (60 samples: 5 minutes); per rule the
 * connections per second of the last interval; and per backend when its state (in rotation,
 * draining, down, disabled, ejected, with the reason) last changed.
 *
 * <p>A sample reads counters the proxy keeps anyway (one snapshot per backend every 5 s) and the
 * balancer's health; the data path does nothing for it. Memory: two rings of {@value #SAMPLES}
 * doubles per backend of a rule. A backend that left is forgotten at the next sample; one that
 * arrives has no connection rate for its first sample (no earlier count to subtract). A state
 * change is dated by the balancer's health event (probe verdict, ejection and its end, override) or
 * by the reconfiguration that made it (admin state, weight), else by the sample or page view that
 * first saw it.
 *
 * <p>Threads: samples run on the scheduler ({@code lb4j-admin-sampler}, one daemon thread, or a
 * fake one in tests); the page reads copies. The sampler reads the balancer before it takes its own
 * monitor, never while holding it: the balancer calls {@link #healthChanged} under its control
 * lock, so the other order could deadlock.
 *
 * <p>Thread-safe.
 */
final class PageSampler implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(PageSampler.class);

  /** Time between samples: 5 s, so a sparkline point is a 5-second average. */
  static final Duration INTERVAL = Duration.ofSeconds(5);

  /** Samples kept per backend: 60, the last 5 minutes at {@link #INTERVAL}. */
  static final int SAMPLES = 60;

  /**
   * One backend of one rule as a sample reads it.
   *
   * @param id the backend's id
   * @param connections connections made to it so far
   * @param state its state with the reason, as the page shows it ({@code down: UNHEALTHY})
   * @param probes its recent probe results, oldest first
   */
  record BackendReading(String id, long connections, String state, List<ProbeResult> probes) {
    BackendReading {
      probes = List.copyOf(probes);
    }
  }

  /**
   * One rule as a sample reads it.
   *
   * @param rule the rule's name
   * @param connections connections its frontend accepted so far
   * @param backends its backends
   */
  record RuleReading(String rule, long connections, List<BackendReading> backends) {
    RuleReading {
      backends = List.copyOf(backends);
    }
  }

  /** What a sample reads: the proxy's counters and the balancer's health, or a fake in tests. */
  @FunctionalInterface
  interface Source {
    /** Returns every rule with its backends now. */
    List<RuleReading> read();
  }

  /**
   * A backend's samples, oldest first, at most {@link PageSampler#capacity()} of each; {@code NaN}
   * where a sample has no value (no connection rate in the backend's first sample; no latency
   * before its first probe result).
   *
   * @param connectionsPerSecond new connections per second in each interval
   * @param probeLatencyMillis the slowest probe completed in each interval, or the latest before
   *     it, in milliseconds
   */
  record Series(double[] connectionsPerSecond, double[] probeLatencyMillis) {
    Series {
      connectionsPerSecond = connectionsPerSecond.clone();
      probeLatencyMillis = probeLatencyMillis.clone();
    }

    @Override
    public double[] connectionsPerSecond() {
      return connectionsPerSecond.clone();
    }

    @Override
    public double[] probeLatencyMillis() {
      return probeLatencyMillis.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Series s
          && Arrays.equals(connectionsPerSecond, s.connectionsPerSecond)
          && Arrays.equals(probeLatencyMillis, s.probeLatencyMillis);
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.hashCode(connectionsPerSecond) + Arrays.hashCode(probeLatencyMillis);
    }

    @Override
    public String toString() {
      return "Series[connectionsPerSecond="
          + Arrays.toString(connectionsPerSecond)
          + ", probeLatencyMillis="
          + Arrays.toString(probeLatencyMillis)
          + "]";
    }
  }

  private record Key(String rule, String backend) {}

  /** A backend's rings: {@code size} values ending before {@code next}. */
  private static final class Track {
    final double[] connections;
    final double[] latency;
    int next;
    int size;
    long lastConnections;
    Instant lastProbe; // the newest probe result counted, or null

    Track(int capacity, long connections, List<ProbeResult> probes) {
      this.connections = new double[capacity];
      this.latency = new double[capacity];
      this.lastConnections = connections;
      this.lastProbe = newest(probes);
    }

    void push(double rate, double millis) {
      connections[next] = rate;
      latency[next] = millis;
      next = (next + 1) % connections.length;
      size = Math.min(size + 1, connections.length);
    }

    double[] ordered(double[] ring) {
      double[] out = new double[size];
      int start = (next - size + ring.length) % ring.length;
      for (int i = 0; i < size; i++) {
        out[i] = ring[(start + i) % ring.length];
      }
      return out;
    }
  }

  /** A backend's state and since when; {@code state} null until seen after a health event. */
  private record Change(String state, Instant since) {}

  private final Source source;
  private final ScheduledExecutorService scheduler;
  private final boolean ownsScheduler;
  private final Ticker ticker;
  private final InstantSource clock;
  private final Duration interval;
  private final int capacity;
  private final Instant started;
  private final Map<Key, Track> tracks = new HashMap<>();
  private final Map<String, Long> ruleConnections = new HashMap<>();
  private final Map<String, Double> ruleRates = new HashMap<>();
  private final Map<Key, Change> changes = new HashMap<>();
  private final LoadBalancerListener listener =
      new LoadBalancerListener() {
        @Override
        public void onHealthChange(HealthEvent e) {
          healthChanged(e.rule(), e.backendId(), e.time());
        }

        @Override
        public void onReconfigured(LoadBalancerConfig config) {
          observe(); // admin state, weight, membership: outside the balancer's lock
        }
      };
  private long lastTick;
  private ScheduledFuture<?> task;
  private LoadBalancer listenedTo;
  private boolean closed;

  /**
   * A sampler of {@code source} on {@code scheduler}; {@link #start()} takes the first readings and
   * schedules the samples.
   *
   * @param ownsScheduler whether {@link #close()} shuts {@code scheduler} down
   * @param ticker measures the time between samples
   * @param clock dates state changes seen by a sample or a page view, and {@link #started()}
   */
  PageSampler(
      Source source,
      ScheduledExecutorService scheduler,
      boolean ownsScheduler,
      Ticker ticker,
      InstantSource clock,
      Duration interval,
      int capacity) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval: " + interval + " (expected: > 0)");
    }
    if (capacity < 2) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 2)");
    }
    this.source = source;
    this.scheduler = scheduler;
    this.ownsScheduler = ownsScheduler;
    this.ticker = ticker;
    this.clock = clock;
    this.interval = interval;
    this.capacity = capacity;
    this.started = clock.instant();
  }

  /**
   * Returns a started sampler of {@code proxy} every {@link #INTERVAL} on its own daemon thread,
   * listening to the balancer's health and configuration changes.
   */
  static PageSampler start(NettyL4Proxy proxy) {
    ScheduledThreadPoolExecutor executor =
        new ScheduledThreadPoolExecutor(1, new DefaultThreadFactory("lb4j-admin-sampler", true));
    executor.setRemoveOnCancelPolicy(true);
    PageSampler s =
        new PageSampler(
            source(proxy),
            executor,
            true,
            Ticker.system(),
            InstantSource.system(),
            INTERVAL,
            SAMPLES);
    return s.listenTo(proxy.loadBalancer()).start();
  }

  /**
   * Returns a started sampler of {@code proxy} on {@code scheduler} (not shut down by {@link
   * #close()}), measuring intervals with {@code ticker} and dating with {@code clock}: for tests,
   * with a fake scheduler.
   */
  static PageSampler start(
      NettyL4Proxy proxy, ScheduledExecutorService scheduler, Ticker ticker, InstantSource clock) {
    PageSampler s =
        new PageSampler(source(proxy), scheduler, false, ticker, clock, INTERVAL, SAMPLES);
    return s.listenTo(proxy.loadBalancer()).start();
  }

  /**
   * Returns the readings of {@code proxy}: its rule and backend counters, the balancer's health.
   */
  static Source source(NettyL4Proxy proxy) {
    return () -> {
      LoadBalancer lb = proxy.loadBalancer();
      LoadBalancerConfig config = lb.config();
      List<RuleReading> out = new ArrayList<>();
      for (Rule r : config.rules()) {
        List<BackendReading> backends = new ArrayList<>();
        for (AdminPages.Target t : AdminPages.targets(config, r)) {
          String id = t.backend().id();
          BackendHealth h;
          try {
            h = lb.health(r.name(), id);
          } catch (IllegalArgumentException gone) { // removed by a reload meanwhile
            continue;
          }
          backends.add(
              new BackendReading(
                  id,
                  proxy.backendSnapshot(r.name(), id).totalConnections(),
                  AdminPages.status(t.backend(), h).describe(),
                  h.recentResults()));
        }
        out.add(
            new RuleReading(r.name(), proxy.ruleCounters(r.name()).totalConnections(), backends));
      }
      return out;
    };
  }

  /** Listens to {@code lb}'s health events and reconfigurations until {@link #close()}. */
  PageSampler listenTo(LoadBalancer lb) {
    synchronized (this) {
      listenedTo = lb;
    }
    lb.addListener(listener);
    return this;
  }

  /** Takes the first readings (the counts the first sample subtracts) and schedules the samples. */
  PageSampler start() {
    List<RuleReading> first = read();
    synchronized (this) {
      lastTick = ticker.read();
      if (first != null) {
        for (RuleReading r : first) {
          ruleConnections.put(r.rule(), r.connections());
          for (BackendReading b : r.backends()) {
            Key k = new Key(r.rule(), b.id());
            tracks.put(k, new Track(capacity, b.connections(), b.probes()));
            note(k, b.state(), started);
          }
        }
      }
      long nanos = interval.toNanos();
      task = scheduler.scheduleAtFixedRate(this::sample, nanos, nanos, TimeUnit.NANOSECONDS);
    }
    return this;
  }

  /** Returns when the sampler started: the admin endpoint's start, for the page's uptime. */
  Instant started() {
    return started;
  }

  /** Returns the time between samples. */
  Duration interval() {
    return interval;
  }

  /** Returns the samples kept per backend. */
  int capacity() {
    return capacity;
  }

  /** Takes one sample now; the scheduler runs it every interval. */
  void sample() {
    List<RuleReading> now = read();
    if (now == null) {
      return;
    }
    long tick = ticker.read();
    Instant at = clock.instant();
    synchronized (this) {
      double seconds = (tick - lastTick) / 1e9;
      lastTick = tick;
      Set<Key> seen = new HashSet<>();
      Map<String, Long> rules = new HashMap<>();
      for (RuleReading r : now) {
        rules.put(r.rule(), r.connections());
        Long before = ruleConnections.get(r.rule());
        ruleRates.put(
            r.rule(), before == null ? Double.NaN : rate(before, r.connections(), seconds));
        for (BackendReading b : r.backends()) {
          Key k = new Key(r.rule(), b.id());
          seen.add(k);
          Track t = tracks.get(k);
          if (t == null) { // arrived since the last sample: no count to subtract
            t = new Track(capacity, b.connections(), List.of());
            tracks.put(k, t);
            t.lastProbe = newest(b.probes());
            t.push(Double.NaN, latestMillis(b.probes()));
          } else {
            double rate = rate(t.lastConnections, b.connections(), seconds);
            t.lastConnections = b.connections();
            t.push(rate, slowestSince(t, b.probes()));
          }
          note(k, b.state(), at);
        }
      }
      ruleConnections.clear();
      ruleConnections.putAll(rules);
      ruleRates.keySet().retainAll(rules.keySet());
      tracks.keySet().retainAll(seen);
      changes.keySet().retainAll(seen);
    }
  }

  /** Counts per second from {@code before} to {@code after}; a count that fell restarted at 0. */
  private static double rate(long before, long after, double seconds) {
    if (seconds <= 0) {
      return Double.NaN;
    }
    return (after >= before ? after - before : after) / seconds;
  }

  /**
   * The slowest of {@code probes} newer than the track's last, in ms; when none is newer, the
   * latest of them; NaN when there is none.
   */
  private static double slowestSince(Track t, List<ProbeResult> probes) {
    double slowest = latestMillis(probes);
    boolean fresh = false;
    Instant newest = t.lastProbe;
    for (ProbeResult p : probes) {
      if (t.lastProbe == null || p.time().isAfter(t.lastProbe)) {
        double ms = p.latency().toNanos() / 1e6;
        slowest = fresh ? Math.max(slowest, ms) : ms;
        fresh = true;
        if (newest == null || p.time().isAfter(newest)) {
          newest = p.time();
        }
      }
    }
    t.lastProbe = newest;
    return slowest;
  }

  /** The latency of the newest of {@code probes} in ms, or NaN when there is none. */
  private static double latestMillis(List<ProbeResult> probes) {
    ProbeResult p = probes.isEmpty() ? null : probes.get(probes.size() - 1);
    return p == null ? Double.NaN : p.latency().toNanos() / 1e6;
  }

  private static Instant newest(List<ProbeResult> probes) {
    return probes.isEmpty() ? null : probes.get(probes.size() - 1).time();
  }

  private List<RuleReading> read() {
    try {
      return source.read();
    } catch (RuntimeException e) { // a reload meanwhile, a pool gone: the next sample reads again
      logger.debug("admin page sample skipped: {}", e.toString());
      return null;
    }
  }

  /** Records a health change of {@code backend} in {@code rule} at {@code time}. */
  void healthChanged(String rule, String backend, Instant time) {
    synchronized (this) {
      changes.put(new Key(rule, backend), new Change(null, time));
    }
  }

  /** Reads every backend's state now and notes the changes, dated now. */
  void observe() {
    List<RuleReading> now = read();
    if (now == null) {
      return;
    }
    Instant at = clock.instant();
    synchronized (this) {
      for (RuleReading r : now) {
        for (BackendReading b : r.backends()) {
          note(new Key(r.rule(), b.id()), b.state(), at);
        }
      }
    }
  }

  /**
   * Returns since when {@code backend} of {@code rule} has been in {@code state} (as a page view
   * sees it at {@code now}): the time of its last change, or {@code now} when this is a change not
   * seen before.
   */
  synchronized Instant since(String rule, String backend, String state, Instant now) {
    return note(new Key(rule, backend), state, now);
  }

  private Instant note(Key k, String state, Instant at) {
    Change c = changes.get(k);
    if (c == null || c.state() != null && !c.state().equals(state)) {
      c = new Change(state, at);
      changes.put(k, c);
    } else if (c.state() == null) { // a health event dated the change; now we know the state
      c = new Change(state, c.since());
      changes.put(k, c);
    }
    return c.since();
  }

  /** Returns the samples of {@code backend} in {@code rule}, or empty ones before the first. */
  synchronized Series series(String rule, String backend) {
    Track t = tracks.get(new Key(rule, backend));
    if (t == null) {
      return new Series(new double[0], new double[0]);
    }
    return new Series(t.ordered(t.connections), t.ordered(t.latency));
  }

  /** Returns the connections per second {@code rule} accepted in the last interval, or NaN. */
  synchronized double rate(String rule) {
    return ruleRates.getOrDefault(rule, Double.NaN);
  }

  /** Stops sampling and listening; shuts its own thread down. Idempotent. */
  @Override
  public void close() {
    LoadBalancer lb;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (task != null) {
        task.cancel(false);
      }
      lb = listenedTo;
    }
    if (lb != null) {
      lb.removeListener(listener);
    }
    if (ownsScheduler) {
      scheduler.shutdownNow();
    }
  }
}

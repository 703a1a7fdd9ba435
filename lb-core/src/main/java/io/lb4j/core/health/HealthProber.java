package io.lb4j.core.health;

import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import io.lb4j.ProberStats;
import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.HealthChecker;
import io.lb4j.spi.Ticker;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes targets on a schedule and keeps each one's health state and recent results.
 *
 * <p>Scheduling runs on an injected {@link ScheduledExecutorService}; the I/O of a probe is the
 * {@link HealthChecker}'s and does not block, so ten thousand targets need no more threads than the
 * scheduler and the checker have. Per target:
 *
 * <ul>
 *   <li>the first probe starts at a random point within one interval after {@link #start()} (or
 *       after {@link #add} once started), so that a start with many targets spreads out;
 *   <li>each next probe starts one interval after the previous one started, varied by up to the
 *       probe's {@code jitterPercent} either way, and never before the previous one ended: probes
 *       of one target never overlap;
 *   <li>a probe that has not completed within its timeout plus {@link #TIMEOUT_GRACE} is recorded
 *       as {@link ProbeOutcome#TIMEOUT} by a sweep that runs every {@link #TIMEOUT_GRACE}, and its
 *       result, if it comes later, is ignored: a slow target delays no one, itself included.
 * </ul>
 *
 * <p>Results feed a {@link HealthStateMachine} on the thread that completes the probe (the
 * checker's I/O thread), so a probe costs no hop between threads. The {@link Listener} runs on the
 * scheduler, for every result that changes the target's state and for the next result after {@link
 * Target#notifyNextResult()}. The {@link Observer}, if one is set, sees every result, on the thread
 * that completed the probe, after the result is recorded.
 *
 * <p>Thread-safe.
 */
public final class HealthProber implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(HealthProber.class);

  /** How long past a probe's timeout the prober waits for the checker before it records one. */
  public static final Duration TIMEOUT_GRACE = Duration.ofMillis(250);

  /** The default number of results kept per target. */
  public static final int DEFAULT_HISTORY_SIZE = 10;

  private final HealthChecker checker;
  private final ScheduledExecutorService scheduler;
  private final Ticker ticker;
  private final InstantSource clock;
  private final Listener listener;
  private final Observer observer;
  private final int historySize;
  private final long seed;
  private final Set<Target> targets = ConcurrentHashMap.newKeySet();
  private final Stats stats = new Stats();
  private ScheduledFuture<?> sweeper;
  private volatile boolean started;
  private volatile boolean closed;

  private HealthProber(Builder b) {
    this.checker = b.checker;
    this.scheduler = b.scheduler;
    this.ticker = b.ticker;
    this.clock = b.clock;
    this.listener = b.listener;
    this.observer = b.observer;
    this.historySize = b.historySize;
    this.seed = b.seed;
  }

  /** {@return a builder with the defaults; the checker and the scheduler must be set} */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Adds a target to probe; probing begins at once if the prober has started.
   *
   * @param address the address and port to probe
   * @param probe how and how often to probe it
   * @return the target: its state and results, and the handle to {@link #remove} it
   * @throws IllegalStateException if the prober is closed
   */
  public Target add(InetSocketAddress address, HealthProbe probe) {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(probe, "probe");
    if (closed) {
      throw new IllegalStateException("prober: closed (expected: open)");
    }
    Target t = new Target(address, probe, historySize, targetSeed(address, probe));
    targets.add(t);
    if (started) {
      scheduleFirst(t);
    }
    return t;
  }

  /**
   * Stops probing {@code target}; a probe in flight is abandoned.
   *
   * @param target a target added before; removing it twice does nothing
   */
  public void remove(Target target) {
    if (targets.remove(target)) {
      target.stop();
    }
  }

  /** Starts probing every target. Idempotent. */
  public void start() {
    if (closed) {
      throw new IllegalStateException("prober: closed (expected: open)");
    }
    if (!started) {
      started = true;
      long grace = TIMEOUT_GRACE.toNanos();
      sweeper = scheduler.scheduleAtFixedRate(this::sweep, grace, grace, TimeUnit.NANOSECONDS);
      for (Target t : targets) {
        scheduleFirst(t);
      }
    }
  }

  /** Stops probing; probes in flight are abandoned. Does not shut the scheduler down. */
  @Override
  public void close() {
    closed = true;
    if (sweeper != null) {
      sweeper.cancel(false);
    }
    for (Target t : targets) {
      t.stop();
    }
    targets.clear();
  }

  /** {@return counters of what the prober did, for monitoring and benchmarks} */
  public ProberStats stats() {
    return stats.snapshot(targets.size());
  }

  private long targetSeed(InetSocketAddress address, HealthProbe probe) {
    return Hash64.xxHash64(probe.name() + "@" + address, seed);
  }

  private void scheduleFirst(Target t) {
    long interval = t.probe.interval().toNanos();
    long delay = (long) (t.random.nextDouble() * interval);
    schedule(t, delay);
  }

  private void schedule(Target t, long delayNanos) {
    if (closed || t.stopped) {
      return;
    }
    t.dueNanos = ticker.read() + delayNanos;
    try {
      t.next = scheduler.schedule(() -> run(t), delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      logger.debug("probe scheduler refused a task; prober stops", e);
    }
  }

  private void run(Target t) {
    if (closed || t.stopped) {
      return;
    }
    long startNanos = ticker.read();
    stats.lateness(startNanos - t.dueNanos);
    Instant startTime = clock.instant();
    long sequence = ++t.sequence;
    t.startNanos = startNanos;
    CompletionStage<ProbeResult> stage;
    try {
      stage = checker.check(t.address, t.probe);
    } catch (RuntimeException e) {
      stage =
          CompletableFuture.completedFuture(
              new ProbeResult(
                  startTime, ProbeOutcome.NETWORK_ERROR, Duration.ZERO, "checker failed: " + e));
    }
    CompletableFuture<ProbeResult> future = stage.toCompletableFuture();
    t.startTime = startTime;
    t.inFlight = future;
    future.whenComplete(
        (result, error) ->
            complete(
                t,
                sequence,
                result != null
                    ? result
                    : new ProbeResult(
                        startTime,
                        ProbeOutcome.NETWORK_ERROR,
                        Duration.ofNanos(Math.max(0, ticker.read() - startNanos)),
                        "checker failed: " + error),
                false));
  }

  /** Records a timeout for every probe past its timeout plus the grace. */
  private void sweep() {
    long now = ticker.read();
    long grace = TIMEOUT_GRACE.toNanos();
    for (Target t : targets) {
      CompletableFuture<ProbeResult> f = t.inFlight;
      if (f != null && now - t.startNanos > t.probe.timeout().toNanos() + grace) {
        complete(
            t,
            t.sequence,
            new ProbeResult(
                t.startTime,
                ProbeOutcome.TIMEOUT,
                Duration.ofNanos(now - t.startNanos),
                "no result within " + t.probe.timeout().toMillis() + " ms"),
            true);
      }
    }
  }

  private void complete(Target t, long sequence, ProbeResult result, boolean timedOut) {
    HealthState before;
    HealthState after;
    boolean notify;
    synchronized (t) {
      if (t.stopped || sequence != t.sequence || t.inFlight == null) {
        return; // stale: a later probe, a sweep that lost the race, or a removed target
      }
      CompletableFuture<ProbeResult> f = t.inFlight;
      t.inFlight = null;
      if (timedOut) {
        stats.backstops.incrementAndGet();
        f.cancel(false);
      }
      before = t.machine.state();
      after = t.machine.record(result.isSuccess());
      t.state = after;
      t.remember(result);
      notify = before != after || t.notifyNext;
      t.notifyNext = false;
    }
    stats.completed.incrementAndGet();
    if (!result.isSuccess()) {
      stats.failures.incrementAndGet();
    }
    if (observer != null) {
      try {
        observer.onProbeResult(t, result);
      } catch (RuntimeException e) {
        logger.warn("probe result observer failed for {}", t, e);
      }
    }
    if (notify) {
      try {
        scheduler.execute(
            () -> {
              try {
                listener.onResult(t, result, before, after);
              } catch (RuntimeException e) {
                logger.warn("health listener failed for {}", t, e);
              }
            });
      } catch (RejectedExecutionException e) {
        logger.debug("probe scheduler refused a listener call; prober stops", e);
      }
    }
    long interval = t.probe.interval().toNanos();
    double jitter = t.probe.jitterPercent() / 100.0;
    long next = (long) (interval * (1 + jitter * (2 * t.random.nextDouble() - 1)));
    long elapsed = ticker.read() - t.startNanos;
    schedule(t, Math.max(0, next - elapsed));
  }

  /**
   * Receives probe results that change a target's state, and the next result of a target after
   * {@link Target#notifyNextResult()}, with the state before and after.
   *
   * <p>Implementations must be thread-safe.
   */
  @FunctionalInterface
  public interface Listener {
    /**
     * Called on the scheduler after a probe of {@code target}.
     *
     * @param target the probed target
     * @param result the probe's result
     * @param before the target's state before the result
     * @param after the target's state after it; the same as {@code before} when nothing changed
     */
    void onResult(Target target, ProbeResult result, HealthState before, HealthState after);
  }

  /**
   * Sees every probe result, whether or not it changes the target's state: for counters and latency
   * histograms. Called on the thread that completed the probe (the checker's I/O thread, or the
   * scheduler for a timeout the prober recorded), once per result, results of one target in order;
   * it must be quick and must not block.
   *
   * <p>Implementations must be thread-safe.
   */
  @FunctionalInterface
  public interface Observer {
    /**
     * Called after {@code result} of {@code target} was recorded.
     *
     * @param target the probed target
     * @param result the probe's result, already in the target's history
     */
    void onProbeResult(Target target, ProbeResult result);
  }

  /**
   * One probed address and probe, with its state and recent results.
   *
   * <p>Thread-safe.
   */
  public static final class Target {
    final InetSocketAddress address;
    final HealthProbe probe;
    final HealthStateMachine machine;
    final SplittableRandom random;
    private final int historySize;
    private final ArrayDeque<ProbeResult> history;
    private volatile HealthState state;
    volatile boolean stopped;
    volatile long sequence;
    long dueNanos;
    volatile long startNanos;
    volatile Instant startTime;
    volatile CompletableFuture<ProbeResult> inFlight;
    ScheduledFuture<?> next;
    boolean notifyNext;

    Target(InetSocketAddress address, HealthProbe probe, int historySize, long seed) {
      this.address = address;
      this.probe = probe;
      this.machine = new HealthStateMachine(probe);
      this.state = machine.state();
      this.random = new SplittableRandom(seed);
      this.historySize = historySize;
      this.history = new ArrayDeque<>(historySize);
    }

    /** {@return the address and port probed} */
    public InetSocketAddress address() {
      return address;
    }

    /** {@return how and how often the target is probed} */
    public HealthProbe probe() {
      return probe;
    }

    /** {@return the current state} */
    public HealthState state() {
      return state;
    }

    /** {@return the recent results, oldest first} */
    public synchronized List<ProbeResult> results() {
      return new ArrayList<>(history);
    }

    /** {@return the newest result, or null before the first} */
    public synchronized ProbeResult lastResult() {
      return history.peekLast();
    }

    /** Asks for the listener to be called with this target's next result, whatever it is. */
    public synchronized void notifyNextResult() {
      notifyNext = true;
    }

    /** {@return the failures in a row so far} */
    public synchronized int consecutiveFailures() {
      return machine.consecutiveFailures();
    }

    synchronized void remember(ProbeResult r) {
      if (history.size() == historySize) {
        history.pollFirst();
      }
      history.addLast(r);
    }

    synchronized void stop() {
      stopped = true;
      if (next != null) {
        next.cancel(false);
      }
      if (inFlight != null) {
        inFlight.cancel(false);
        inFlight = null;
      }
    }

    @Override
    public String toString() {
      return probe.name() + "@" + io.lb4j.IpLiteral.format(address);
    }
  }

  /** Lock-free counters and a lateness histogram with power-of-two microsecond buckets. */
  private static final class Stats {
    private static final int BUCKETS = 40;
    final AtomicLong completed = new AtomicLong();
    final AtomicLong failures = new AtomicLong();
    final AtomicLong backstops = new AtomicLong();
    private final AtomicLongArray lateness = new AtomicLongArray(BUCKETS);
    private final AtomicLong maxLateness = new AtomicLong();

    void lateness(long nanos) {
      long micros = Math.max(0, nanos) / 1000;
      int bucket = micros == 0 ? 0 : Math.min(BUCKETS - 1, 64 - Long.numberOfLeadingZeros(micros));
      lateness.incrementAndGet(bucket);
      maxLateness.accumulateAndGet(Math.max(0, nanos), Math::max);
    }

    ProberStats snapshot(int targets) {
      return new ProberStats(
          targets,
          completed.get(),
          failures.get(),
          backstops.get(),
          percentile(0.50),
          percentile(0.99),
          Duration.ofNanos(maxLateness.get()));
    }

    /** Returns the upper bound of the bucket holding the percentile (within a factor of two). */
    private Duration percentile(double p) {
      long total = 0;
      for (int i = 0; i < BUCKETS; i++) {
        total += lateness.get(i);
      }
      if (total == 0) {
        return Duration.ZERO;
      }
      long rank = (long) Math.ceil(p * total);
      long seen = 0;
      for (int i = 0; i < BUCKETS; i++) {
        seen += lateness.get(i);
        if (seen >= rank) {
          return Duration.ofNanos(i == 0 ? 1000 : (1L << i) * 1000);
        }
      }
      return Duration.ofNanos(maxLateness.get());
    }
  }

  /**
   * Builds a {@link HealthProber}.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private HealthChecker checker;
    private ScheduledExecutorService scheduler;
    private Ticker ticker = Ticker.system();
    private InstantSource clock = InstantSource.system();
    private Listener listener = (t, r, b, a) -> {};
    private Observer observer;
    private int historySize = DEFAULT_HISTORY_SIZE;
    private long seed = System.nanoTime();

    private Builder() {}

    /**
     * Sets the checker that does the probes' I/O; required.
     *
     * @param checker the checker
     * @return this builder
     */
    public Builder checker(HealthChecker checker) {
      this.checker = Objects.requireNonNull(checker, "checker");
      return this;
    }

    /**
     * Sets the scheduler; required. A single thread suffices.
     *
     * @param scheduler the scheduler of probes and results
     * @return this builder
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Sets the time source for schedules and latencies; the system ticker by default.
     *
     * @param ticker the time source
     * @return this builder
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the wall clock for result timestamps; the system clock by default.
     *
     * @param clock the wall clock
     * @return this builder
     */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Sets the listener of results.
     *
     * @param listener the listener; none by default
     * @return this builder
     */
    public Builder listener(Listener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Sets the observer of every result; none by default.
     *
     * @param observer told of every result; not null
     * @return this builder
     */
    public Builder observer(Observer observer) {
      this.observer = Objects.requireNonNull(observer, "observer");
      return this;
    }

    /**
     * Sets how many results each target keeps, 1-1000; 10 by default.
     *
     * @param size the results kept, 1-1000
     * @return this builder
     */
    public Builder historySize(int size) {
      if (size < 1 || size > 1000) {
        throw new IllegalArgumentException("historySize: " + size + " (expected: 1-1000)");
      }
      this.historySize = size;
      return this;
    }

    /**
     * Sets the seed of the jitter; random by default, fixed in tests.
     *
     * @param seed the seed
     * @return this builder
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Returns the prober, not started.
     *
     * @return the prober; {@link HealthProber#start()} begins probing
     * @throws IllegalStateException if the checker or the scheduler was not set
     */
    public HealthProber build() {
      if (checker == null) {
        throw new IllegalStateException("checker: not set (expected: a HealthChecker)");
      }
      if (scheduler == null) {
        throw new IllegalStateException(
            "scheduler: not set (expected: a ScheduledExecutorService)");
      }
      return new HealthProber(this);
    }
  }
}

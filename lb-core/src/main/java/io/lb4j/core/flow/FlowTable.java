package io.lb4j.core.flow;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Policy;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.lb4j.FlowKey;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.ToLongFunction;

/**
 * The connection-tracking table: each known flow mapped to its assignment, forgotten when it closes
 * or has been idle for its rule's idle timeout. Built on Caffeine with per-entry expiry.
 *
 * <p><b>When full.</b> The table holds at most {@code capacity} flows. It never evicts a live flow
 * to make room, since an evicted flow would be re-hashed and could land on another backend in the
 * middle of a connection. A new flow that finds the table full is refused ({@link #putIfAbsent}
 * returns null) and the established flows are kept, as Linux conntrack does when {@code
 * nf_conntrack_max} is reached.
 *
 * <p><b>Expiry.</b> A flow expires between {@code idleTimeout} and {@code idleTimeout + slack}
 * after its last read or write, where {@code slack = min(10 s, idleTimeout / 8)}: never earlier, at
 * most the slack later. The slack is what makes a hit cheap: a read renews the flow's deadline in
 * Caffeine only when the last renewal is more than a slack old, so most hits are one hash-map
 * lookup and one clock read, without Caffeine's read buffer and expiry bookkeeping (which cost 5-8
 * times a {@code HashMap.get}; see {@code FlowTableBenchmark}). An expired flow is removed during
 * Caffeine's maintenance (on later activity, on the {@code scheduler}, or on {@link #cleanUp()})
 * and handed to {@code onExpired}, which runs synchronously before the flow's slot is counted as
 * free.
 *
 * <p>Thread-safe.
 *
 * @param <V> the assignment
 */
public final class FlowTable<V> {
  /** The default capacity: one million flows, about 200 MB of heap. */
  public static final long DEFAULT_CAPACITY = 1_000_000;

  /** The most renewal slack a flow gets: 10 s. */
  public static final long MAX_SLACK_NANOS = 10_000_000_000L;

  /** How stale the clock reading a hit uses may be: 1 ms. */
  public static final long CLOCK_STEP_NANOS = 1_000_000L;

  private final Cache<FlowKey, Entry<V>> cache;
  private final Policy<FlowKey, Entry<V>> policy;
  private final LatchingTicker ticker;
  private final ToLongFunction<V> idle;
  private final long capacity;
  private final AtomicLong size = new AtomicLong();

  private FlowTable(Builder<V> b) {
    this.capacity = b.capacity;
    this.ticker = new LatchingTicker(b.ticker);
    this.idle = b.idleTimeoutNanos;
    BiConsumer<FlowKey, V> onExpired = b.onExpired;
    this.cache =
        Caffeine.newBuilder()
            .ticker(ticker)
            .executor(b.executor)
            .scheduler(b.scheduler)
            .expireAfter(
                new Expiry<FlowKey, Entry<V>>() {
                  @Override
                  public long expireAfterCreate(FlowKey key, Entry<V> e, long currentTime) {
                    return e.lifetimeNanos;
                  }

                  @Override
                  public long expireAfterUpdate(
                      FlowKey key, Entry<V> e, long currentTime, long currentDuration) {
                    return e.lifetimeNanos;
                  }

                  @Override
                  public long expireAfterRead(
                      FlowKey key, Entry<V> e, long currentTime, long currentDuration) {
                    return e.lifetimeNanos;
                  }
                })
            .evictionListener(
                (FlowKey key, Entry<V> e, RemovalCause cause) -> {
                  size.decrementAndGet();
                  if (key != null && e != null) {
                    onExpired.accept(key, e.value);
                  }
                })
            .build();
    this.policy = cache.policy();
  }

  /** Returns a builder. */
  public static <V> Builder<V> builder() {
    return new Builder<>();
  }

  /** Returns the assignment of {@code flow} and restarts its idle timer, or null if unknown. */
  public V get(FlowKey flow) {
    Entry<V> e = policy.getIfPresentQuietly(flow);
    if (e == null) {
      return null;
    }
    long now = ticker.latest(); // Caffeine read the clock for its expiry check just now
    if (now - e.renewedAt >= e.slackNanos) {
      e.renewedAt = now;
      cache.getIfPresent(flow); // renews the deadline in Caffeine
    }
    return e.value;
  }

  /** Returns the assignment of {@code flow} without restarting its idle timer, or null. */
  public V peek(FlowKey flow) {
    Entry<V> e = policy.getIfPresentQuietly(flow);
    return e == null ? null : e.value;
  }

  /**
   * Returns a reading of the table's clock at most one step ({@code 1 ms}) old, without reading it.
   */
  public long recentNanos() {
    return ticker.latest();
  }

  /**
   * Records {@code flow} with {@code value} unless it is known. Returns the value now in force:
   * {@code value} if it was recorded, the earlier value if the flow was known, or null if the table
   * is full and the flow was not recorded.
   */
  public V putIfAbsent(FlowKey flow, V value) {
    Objects.requireNonNull(value, "value");
    if (size.incrementAndGet() > capacity) {
      size.decrementAndGet();
      return get(flow);
    }
    Entry<V> existing = cache.asMap().putIfAbsent(flow, newEntry(value));
    if (existing != null) {
      size.decrementAndGet();
      return existing.value;
    }
    return value;
  }

  /** Forgets {@code flow}; returns its assignment, or null if it was unknown. */
  public V remove(FlowKey flow) {
    Entry<V> removed = cache.asMap().remove(flow);
    if (removed == null) {
      return null;
    }
    size.decrementAndGet();
    return removed.value;
  }

  /** Forgets {@code flow} only if it is still assigned {@code value}; returns whether it was. */
  public boolean remove(FlowKey flow, V value) {
    Entry<V> e = policy.getIfPresentQuietly(flow);
    if (e == null || !e.value.equals(value) || !cache.asMap().remove(flow, e)) {
      return false;
    }
    size.decrementAndGet();
    return true;
  }

  /** Returns the number of flows recorded, expired ones included until maintenance removes them. */
  public long size() {
    return size.get();
  }

  /** Returns the most flows the table holds. */
  public long capacity() {
    return capacity;
  }

  /** Runs pending maintenance now, removing expired flows. */
  public void cleanUp() {
    cache.cleanUp();
  }

  /** Removes every flow without calling {@code onExpired}. */
  public void clear() {
    for (FlowKey key : cache.asMap().keySet()) {
      remove(key);
    }
  }

  /** Applies {@code action} to every recorded flow; a snapshot view, not for the data path. */
  public void forEach(BiConsumer<FlowKey, V> action) {
    cache.asMap().forEach((k, e) -> action.accept(k, e.value));
  }

  private Entry<V> newEntry(V value) {
    long idleNanos = idle.applyAsLong(value);
    long slack = Math.max(1, Math.min(MAX_SLACK_NANOS, idleNanos / 8));
    long margin = slack + CLOCK_STEP_NANOS;
    long lifetime = idleNanos > Long.MAX_VALUE - margin ? Long.MAX_VALUE : idleNanos + margin;
    return new Entry<>(value, slack, lifetime, ticker.latest());
  }

  /**
   * The table's clock, which remembers its latest reading (to within {@link #CLOCK_STEP_NANOS}) so
   * a hit can use the reading Caffeine just took instead of reading the clock again: a clock read
   * is about 25 ns, a third of a hit before this. The remembered value only moves forward, and
   * moves at most once per step, so threads reading the table do not contend on it.
   */
  private static final class LatchingTicker implements Ticker {
    private static final VarHandle LATEST;

    static {
      try {
        LATEST = MethodHandles.lookup().findVarHandle(LatchingTicker.class, "latest", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private final Ticker clock;
    private volatile long latest;

    LatchingTicker(Ticker clock) {
      this.clock = clock;
      this.latest = clock.read();
    }

    @Override
    public long read() {
      long now = clock.read();
      long seen = latest;
      while (now - seen >= CLOCK_STEP_NANOS && !LATEST.compareAndSet(this, seen, now)) {
        seen = latest;
      }
      return now;
    }

    /** Returns a reading no more than one step older than the latest {@link #read()}. */
    long latest() {
      return latest;
    }
  }

  /** A flow's assignment and when its deadline was last renewed. */
  private static final class Entry<V> {
    final V value;
    final long slackNanos;
    final long lifetimeNanos;
    volatile long renewedAt;

    Entry(V value, long slackNanos, long lifetimeNanos, long now) {
      this.value = value;
      this.slackNanos = slackNanos;
      this.lifetimeNanos = lifetimeNanos;
      this.renewedAt = now;
    }
  }

  /**
   * Builds a {@link FlowTable}.
   *
   * <p>Not thread-safe.
   *
   * @param <V> the assignment
   */
  public static final class Builder<V> {
    private long capacity = DEFAULT_CAPACITY;
    private Ticker ticker = Ticker.systemTicker();
    private Executor executor = ForkJoinPool.commonPool();
    private Scheduler scheduler = Scheduler.systemScheduler();
    private ToLongFunction<V> idleTimeoutNanos;
    private BiConsumer<FlowKey, V> onExpired = (k, v) -> {};

    private Builder() {}

    /** Sets the most flows held; one million by default. */
    public Builder<V> capacity(long capacity) {
      if (capacity < 1) {
        throw new IllegalArgumentException("flowTableCapacity: " + capacity + " (expected: >= 1)");
      }
      this.capacity = capacity;
      return this;
    }

    /** Sets the time source; the system ticker by default, a fake one in tests. */
    public Builder<V> ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /** Sets where maintenance runs; the common pool by default, {@code Runnable::run} in tests. */
    public Builder<V> executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Sets the scheduler that runs maintenance when an expiry is due; the system scheduler by
     * default, {@code Scheduler.disabledScheduler()} where only {@link FlowTable#cleanUp()} should.
     */
    public Builder<V> scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Sets each flow's idle timeout in nanoseconds, from its assignment; required. */
    public Builder<V> idleTimeoutNanos(ToLongFunction<V> idleTimeoutNanos) {
      this.idleTimeoutNanos = Objects.requireNonNull(idleTimeoutNanos, "idleTimeoutNanos");
      return this;
    }

    /** Sets what runs when a flow idles out. */
    public Builder<V> onExpired(BiConsumer<FlowKey, V> onExpired) {
      this.onExpired = Objects.requireNonNull(onExpired, "onExpired");
      return this;
    }

    /**
     * Returns the table.
     *
     * @throws IllegalStateException if no idle timeout was set
     */
    public FlowTable<V> build() {
      if (idleTimeoutNanos == null) {
        throw new IllegalStateException("idleTimeoutNanos: not set (expected: a function)");
      }
      return new FlowTable<>(this);
    }
  }
}

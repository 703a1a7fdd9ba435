package io.lb4j.core.flow;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.lb4j.FlowKey;
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
 * <p><b>Expiry.</b> Each entry expires {@code idleTimeout(value)} after its last read or write. An
 * expired flow is removed during Caffeine's maintenance (on later activity, on the {@code
 * scheduler}, or on {@link #cleanUp()}) and handed to {@code onExpired}, which runs synchronously
 * before the flow's slot is counted as free.
 *
 * <p>Thread-safe.
 *
 * @param <V> the assignment
 */
public final class FlowTable<V> {
  /** The default capacity: one million flows, about 200 MB of heap. */
  public static final long DEFAULT_CAPACITY = 1_000_000;

  private final Cache<FlowKey, V> cache;
  private final long capacity;
  private final AtomicLong size = new AtomicLong();

  private FlowTable(Builder<V> b) {
    this.capacity = b.capacity;
    ToLongFunction<V> idle = b.idleTimeoutNanos;
    BiConsumer<FlowKey, V> onExpired = b.onExpired;
    this.cache =
        Caffeine.newBuilder()
            .ticker(b.ticker)
            .executor(b.executor)
            .scheduler(b.scheduler)
            .expireAfter(
                new Expiry<FlowKey, V>() {
                  @Override
                  public long expireAfterCreate(FlowKey key, V value, long currentTime) {
                    return idle.applyAsLong(value);
                  }

                  @Override
                  public long expireAfterUpdate(
                      FlowKey key, V value, long currentTime, long currentDuration) {
                    return idle.applyAsLong(value);
                  }

                  @Override
                  public long expireAfterRead(
                      FlowKey key, V value, long currentTime, long currentDuration) {
                    return idle.applyAsLong(value);
                  }
                })
            .evictionListener(
                (FlowKey key, V value, RemovalCause cause) -> {
                  size.decrementAndGet();
                  if (key != null && value != null) {
                    onExpired.accept(key, value);
                  }
                })
            .build();
  }

  /** Returns a builder. */
  public static <V> Builder<V> builder() {
    return new Builder<>();
  }

  /** Returns the assignment of {@code flow} and restarts its idle timer, or null if unknown. */
  public V get(FlowKey flow) {
    return cache.getIfPresent(flow);
  }

  /** Returns the assignment of {@code flow} without restarting its idle timer, or null. */
  public V peek(FlowKey flow) {
    return cache.policy().getIfPresentQuietly(flow);
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
      V existing = cache.getIfPresent(flow);
      return existing;
    }
    V existing = cache.asMap().putIfAbsent(flow, value);
    if (existing != null) {
      size.decrementAndGet();
      return existing;
    }
    return value;
  }

  /** Forgets {@code flow}; returns its assignment, or null if it was unknown. */
  public V remove(FlowKey flow) {
    V removed = cache.asMap().remove(flow);
    if (removed != null) {
      size.decrementAndGet();
    }
    return removed;
  }

  /** Forgets {@code flow} only if it is still assigned {@code value}; returns whether it was. */
  public boolean remove(FlowKey flow, V value) {
    boolean removed = cache.asMap().remove(flow, value);
    if (removed) {
      size.decrementAndGet();
    }
    return removed;
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
    cache.asMap().forEach(action);
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

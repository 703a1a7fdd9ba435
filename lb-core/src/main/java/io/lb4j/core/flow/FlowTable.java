package io.lb4j.core.flow;

import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import io.lb4j.spi.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.ToLongFunction;

/**
 * The connection-tracking table: each known flow mapped to its assignment, forgotten when it closes
 * or has been idle for its rule's idle timeout.
 *
 * <p><b>Layout.</b> 64 segments, each an open-addressing table (linear probing, at most half full)
 * of entries that hold the flow's 5-tuple inline as primitive fields next to the assignment. A
 * lookup is one hash of the tuple, one read of the segment's array, and in the common case one
 * entry: one dependent memory access fewer than a {@code HashMap} of {@link FlowKey}s (bucket,
 * node, key). Lookups take no lock; inserts and removals lock one segment. A removed entry leaves a
 * tombstone that readers skip; a segment is rehashed, grown or shrunk when tombstones and live
 * entries fill half of it. The tuple hash is seeded per table (random unless set), so an attacker
 * who chooses source ports cannot aim collisions at a running table.
 *
 * <p><b>Expiry</b> is conntrack's, not a timer per flow. A lookup ({@link #get}) marks the entry
 * active with a plain store, at most once per maintenance period: the hit path reads no clock and
 * writes no shared state. Maintenance runs every <i>tick</i> ({@link #tickNanos}: a sixteenth of
 * the shortest idle timeout in the table, within 1 ms to 1 s): it reads the ticker once, stamps
 * every entry marked since the last run with that time and clears the mark, and forgets every entry
 * whose stamp is at least its idle timeout old. So a flow is never forgotten before it has been
 * idle for its idle timeout (its last activity is at or before its stamp), and, with maintenance on
 * schedule, it is forgotten at most two ticks after that ({@link #latestExpiryNanos}): 4 minutes to
 * 4 minutes 2 s for Azure's default. A late or stalled maintenance run only makes expiry later,
 * never earlier. Maintenance runs on {@code scheduler} while the table holds flows, and on {@link
 * #cleanUp()}; an expired flow is handed to {@code onExpired} after its segment is unlocked.
 *
 * <p><b>When full.</b> The table holds at most {@code capacity} flows. It never evicts a live flow
 * to make room, since an evicted flow would be re-hashed and could land on another backend in the
 * middle of a connection. A new flow that finds the table full is refused ({@link #putIfAbsent}
 * returns null) and the established flows are kept, as Linux conntrack does when {@code
 * nf_conntrack_max} is reached. Capacity is counted without a shared counter on the insert path:
 * each segment counts its flows and holds capacity taken in chunks (up to 64 flows) as credit, both
 * under its own monitor, and gives surplus back; before refusing, an insert takes back every
 * segment's unused credit, so a flow is refused only when the table really holds {@code capacity}
 * flows.
 *
 * <p>Why one class of about 700 lines: segments, entries, expiry and capacity share invariants
 * guarded by one segment's monitor (its table, live count, stamps and credit); spread over classes
 * they would have to expose exactly the fields that make lookups lock-free.
 *
 * <p>Thread-safe. Lookups are lock-free; iteration ({@link #forEach}) is weakly consistent.
 *
 * @param <V> the assignment
 */
public final class FlowTable<V> {
  /** The default capacity: one million flows, about 90 MB of heap (87 bytes per flow, measured). */
  public static final long DEFAULT_CAPACITY = 1_000_000;

  /** The longest maintenance period, and so the coarsest expiry resolution: 1 s. */
  static final long MAX_TICK_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** The shortest maintenance period: 1 ms, however short an idle timeout is. */
  static final long MIN_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  /** Maintenance runs at least this many times per idle timeout: expiry is late by 1/8 at most. */
  static final int TICKS_PER_IDLE_TIMEOUT = 16;

  /** The most capacity a segment takes at once: at most 64 x 64 flows held as unused credit. */
  private static final int MAX_CHUNK = 64;

  private static final int SEGMENT_BITS = 6;
  private static final int SEGMENTS = 1 << SEGMENT_BITS;
  private static final int MIN_SLOTS = 8;
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;
  private static final Protocol[] PROTOCOLS = Protocol.values();

  /** What {@link #insert} answers when no capacity is left. */
  private static final Object FULL = new Object();

  /** Marks a removed slot; its {@code ports} match no flow, so readers pass over it. */
  private static final Entry<Object> TOMBSTONE = new Entry<>(0, 0, 0, 0, 0, -1, new Object());

  private final Segment<V>[] segments;
  private final long seed;
  private final long capacity;
  private final AtomicLong unreserved; // capacity no segment holds as credit yet
  private final int chunk; // how much capacity a segment takes from unreserved at once
  private final Ticker ticker;
  private final ScheduledExecutorService scheduler; // null: only cleanUp() maintains
  private final ToLongFunction<V> idleTimeoutNanos;
  private final BiConsumer<FlowKey, V> onExpired;

  // Maintenance: one run at a time (maintenanceLock); one scheduled chain of runs while the table
  // holds flows (chainLock guards starting and stopping it; a chain whose generation is not the
  // latest ends at its next run).
  private final Object maintenanceLock = new Object();
  private final Object chainLock = new Object();
  private volatile boolean scheduled;
  private long generation; // guarded by chainLock
  private volatile long tickNanos = MAX_TICK_NANOS;

  private FlowTable(Builder<V> b) {
    this.capacity = b.capacity;
    this.unreserved = new AtomicLong(b.capacity);
    this.chunk = (int) Math.max(1, Math.min(MAX_CHUNK, b.capacity / (SEGMENTS * 64L)));
    this.seed = b.seed;
    this.ticker = b.ticker;
    this.scheduler = b.scheduler;
    this.idleTimeoutNanos = b.idleTimeoutNanos;
    this.onExpired = b.onExpired;
    @SuppressWarnings("unchecked")
    Segment<V>[] all = (Segment<V>[]) new Segment<?>[SEGMENTS];
    for (int i = 0; i < SEGMENTS; i++) {
      all[i] = new Segment<>();
    }
    this.segments = all;
  }

  /**
   * Returns a builder.
   *
   * @param <V> the type of a flow's assignment
   * @return a builder with the defaults; the idle timeout must be set
   */
  public static <V> Builder<V> builder() {
    return new Builder<>();
  }

  // ---------------------------------------------------------------- data path

  /**
   * Returns the assignment of {@code flow} and marks it active, or null if unknown.
   *
   * @param flow the flow's 5-tuple
   * @return the assignment, or null
   */
  public V get(FlowKey flow) {
    Entry<V> e = find(flow);
    if (e == null) {
      return null;
    }
    if ((int) ACTIVE.getOpaque(e) == 0) {
      ACTIVE.setOpaque(e, 1);
    }
    return e.value;
  }

  /**
   * Returns the assignment of {@code flow} without marking it active, or null.
   *
   * @param flow the flow's 5-tuple
   * @return the assignment, or null
   */
  public V peek(FlowKey flow) {
    Entry<V> e = find(flow);
    return e == null ? null : e.value;
  }

  /**
   * The lock-free probe. It returns the entry it matched, not a slot index for the caller to read
   * again: a writer may put a tombstone in that slot in between.
   */
  private Entry<V> find(FlowKey flow) {
    long ports = ports(flow);
    long h = hash(flow, ports);
    Entry<V>[] t = segmentOf(h).table;
    int mask = t.length - 1;
    for (int i = (int) h & mask; ; i = (i + 1) & mask) {
      Entry<V> e = t[i];
      if (e == null) {
        return null;
      }
      if (e.hash == h && e.matches(flow, ports)) {
        return e;
      }
    }
  }

  /**
   * Records {@code flow} with {@code value} unless it is known. Returns the value now in force:
   * {@code value} if it was recorded, the earlier value if the flow was known, or null if the table
   * is full and the flow was not recorded.
   *
   * @param flow the flow's 5-tuple
   * @param value the assignment to record, not null
   * @return the assignment in force, or null if the table is full
   */
  @SuppressWarnings("unchecked")
  public V putIfAbsent(FlowKey flow, V value) {
    Objects.requireNonNull(value, "value");
    long ports = ports(flow);
    long h = hash(flow, ports);
    Segment<V> s = segmentOf(h);
    Object now = insert(s, flow, ports, h, value);
    if (now == FULL) {
      reclaimCredit(); // outside every segment's monitor: it takes each in turn
      now = insert(s, flow, ports, h, value);
    }
    if (now == FULL) {
      return null;
    }
    if (now != null) {
      return (V) now;
    }
    afterInsert(value);
    return value;
  }

  /**
   * Inserts {@code flow} unless known: returns null when inserted, the value of a known flow, or
   * {@link #FULL} when no capacity is left in the segment or unreserved.
   */
  private Object insert(Segment<V> s, FlowKey flow, long ports, long h, V value) {
    synchronized (s) {
      Entry<V>[] t = s.table;
      int mask = t.length - 1;
      int free = -1;
      for (int i = (int) h & mask; ; i = (i + 1) & mask) {
        Entry<V> e = t[i];
        if (e == null) {
          if (free < 0) {
            free = i;
          }
          break;
        }
        if (e == TOMBSTONE) {
          if (free < 0) {
            free = i;
          }
        } else if (e.hash == h && e.matches(flow, ports)) {
          return e.value;
        }
      }
      if (!reserve(s)) {
        return FULL;
      }
      boolean fresh = t[free] == null;
      t[free] =
          new Entry<>(
              h,
              flow.sourceHigh(),
              flow.sourceLow(),
              flow.destinationHigh(),
              flow.destinationLow(),
              ports,
              value);
      s.live++;
      if (fresh && ++s.used > t.length >>> 1) {
        s.rehash();
      }
    }
    return null;
  }

  /**
   * Forgets {@code flow}; returns its assignment, or null if it was unknown.
   *
   * @param flow the flow's 5-tuple
   * @return the forgotten assignment, or null
   */
  public V remove(FlowKey flow) {
    return removeEntry(flow, null);
  }

  /**
   * Forgets {@code flow} only if it is still assigned {@code value}; returns whether it was.
   *
   * @param flow the flow's 5-tuple
   * @param value the assignment expected, compared with {@code equals}
   * @return true if the flow was forgotten
   */
  public boolean remove(FlowKey flow, V value) {
    Objects.requireNonNull(value, "value");
    return removeEntry(flow, value) != null;
  }

  /** Removes {@code flow} if its value is {@code expected} (any value if null); returns it. */
  private V removeEntry(FlowKey flow, Object expected) {
    long ports = ports(flow);
    long h = hash(flow, ports);
    Segment<V> s = segmentOf(h);
    synchronized (s) {
      Entry<V>[] t = s.table;
      int mask = t.length - 1;
      for (int i = (int) h & mask; ; i = (i + 1) & mask) {
        Entry<V> e = t[i];
        if (e == null) {
          return null;
        }
        if (e.hash == h && e.matches(flow, ports)) {
          if (expected != null && !expected.equals(e.value)) {
            return null;
          }
          s.delete(i);
          release(s, 1);
          return e.value;
        }
      }
    }
  }

  /**
   * {@return the number of flows recorded, expired ones included until maintenance removes them}
   */
  public long size() {
    long n = 0;
    for (Segment<V> s : segments) {
      n += (int) LIVE.getOpaque(s);
    }
    return n;
  }

  /** Returns whether no segment holds a flow, reading each under its monitor. */
  private boolean isEmpty() {
    for (Segment<V> s : segments) {
      synchronized (s) {
        if (s.live > 0) {
          return false;
        }
      }
    }
    return true;
  }

  /** {@return the most flows the table holds} */
  public long capacity() {
    return capacity;
  }

  /** Removes every flow without calling {@code onExpired}. */
  public void clear() {
    for (Segment<V> s : segments) {
      synchronized (s) {
        release(s, s.live);
        s.reset(MIN_SLOTS);
      }
    }
  }

  /**
   * Applies {@code action} to every recorded flow, without locks: a flow added or removed meanwhile
   * may or may not be seen. Allocates a {@link FlowKey} per flow; not for the data path.
   *
   * @param action receives each flow and its assignment; must not block
   */
  public void forEach(BiConsumer<FlowKey, V> action) {
    for (Segment<V> s : segments) {
      for (Entry<V> e : s.table) {
        if (e != null && e != TOMBSTONE) {
          action.accept(e.key(), e.value);
        }
      }
    }
  }

  // ---------------------------------------------------------------- maintenance

  /** Runs maintenance now: stamps flows active since the last run and forgets idle ones. */
  public void cleanUp() {
    List<Entry<V>> expired = new ArrayList<>();
    synchronized (maintenanceLock) {
      long now = ticker.read();
      long shortest = Long.MAX_VALUE;
      for (Segment<V> s : segments) {
        synchronized (s) {
          shortest = Math.min(shortest, s.sweep(now, idleTimeoutNanos, expired));
          release(s, expired.size());
        }
        for (int i = 0; i < expired.size(); i++) {
          Entry<V> e = expired.get(i);
          onExpired.accept(e.key(), e.value);
        }
        expired.clear();
      }
      if (shortest != Long.MAX_VALUE) {
        tickNanos = tickFor(shortest);
      }
    }
  }

  /** {@return the maintenance period now in force, in nanoseconds} */
  public long tickNanos() {
    return tickNanos;
  }

  /** The maintenance period for flows whose shortest idle timeout is {@code idleNanos}. */
  static long tickFor(long idleNanos) {
    return Math.max(MIN_TICK_NANOS, Math.min(MAX_TICK_NANOS, idleNanos / TICKS_PER_IDLE_TIMEOUT));
  }

  /**
   * The longest a flow with idle timeout {@code idleNanos} stays known after its last activity when
   * maintenance runs on schedule: the timeout plus two periods (marked just after one run, stamped
   * at the next, judged a period after the timeout at the latest).
   *
   * @param idleNanos the flow's idle timeout in nanoseconds
   * @return the bound in nanoseconds
   */
  public static long latestExpiryNanos(long idleNanos) {
    return idleNanos + 2 * tickFor(idleNanos);
  }

  /** Starts the maintenance chain if none runs, and shortens the period for a short timeout. */
  private void afterInsert(V value) {
    long tick = tickFor(idleTimeoutNanos.applyAsLong(value));
    if (tick < tickNanos || !scheduled) {
      synchronized (chainLock) {
        if (tick < tickNanos) {
          tickNanos = tick;
          startChain(); // sooner than the running chain's next run, which then ends
        } else if (!scheduled) {
          startChain();
        }
      }
    }
  }

  /** Starts a new chain of scheduled runs; holds chainLock. */
  private void startChain() {
    scheduled = true;
    long gen = ++generation;
    schedule(gen);
  }

  private void schedule(long gen) {
    if (scheduler == null) {
      return;
    }
    try {
      scheduler.schedule(() -> scheduledRun(gen), tickNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      scheduled = false; // the scheduler was shut down: only cleanUp() maintains from now on
    }
  }

  /** {@return the maintenance thread shared by every table given none: one daemon thread} */
  public static ScheduledExecutorService sharedScheduler() {
    return SharedScheduler.INSTANCE;
  }

  /** The maintenance thread shared by every table that was given none: one daemon thread. */
  static final class SharedScheduler {
    static final ScheduledExecutorService INSTANCE = create();

    private static ScheduledExecutorService create() {
      ScheduledThreadPoolExecutor s =
          new ScheduledThreadPoolExecutor(
              1,
              r -> {
                Thread t = new Thread(r, "lb4j-flow-maintenance");
                t.setDaemon(true);
                return t;
              });
      s.setRemoveOnCancelPolicy(true);
      return s;
    }

    private SharedScheduler() {}
  }

  private void scheduledRun(long gen) {
    synchronized (chainLock) {
      if (gen != generation) {
        return;
      }
    }
    cleanUp();
    synchronized (chainLock) {
      if (gen != generation) {
        return;
      }
      if (!isEmpty()) {
        schedule(gen);
        return;
      }
      // Empty: stop. An insert counts itself under its segment's monitor before it reads
      // 'scheduled' (volatile); this writes 'scheduled' before it reads each count under the
      // same monitor. If this takes the monitor after the insert released it, it sees the count;
      // if before, the insert's read of 'scheduled' comes after this write and sees false.
      scheduled = false;
      if (!isEmpty()) {
        startChain();
      }
    }
  }

  // ---------------------------------------------------------------- capacity

  /**
   * Takes one unit of capacity for a new flow in {@code s}: from the segment's credit, else a chunk
   * from the unreserved capacity. Holds {@code s}'s monitor, which guards its credit.
   */
  private boolean reserve(Segment<V> s) {
    if (s.credit > 0) {
      s.credit--;
      return true;
    }
    for (long left = unreserved.get(); left > 0; left = unreserved.get()) {
      long n = Math.min(chunk, left);
      if (unreserved.compareAndSet(left, left - n)) {
        s.credit += (int) (n - 1);
        return true;
      }
    }
    return false;
  }

  /** Gives {@code n} units back to {@code s}'s credit, keeping at most two chunks; under s. */
  private void release(Segment<V> s, int n) {
    s.credit += n;
    if (s.credit > 2 * chunk) {
      s.credit -= chunk;
      unreserved.addAndGet(chunk);
    }
  }

  /**
   * Moves every segment's unused credit back to the unreserved capacity, taking each segment's
   * monitor in turn and never two at once: what an insert does before it refuses a flow.
   */
  private void reclaimCredit() {
    for (Segment<V> s : segments) {
      synchronized (s) {
        if (s.credit > 0) {
          unreserved.addAndGet(s.credit);
          s.credit = 0;
        }
      }
    }
  }

  // ---------------------------------------------------------------- hashing

  /** The segment of a flow with tuple hash {@code h}: its top bits. */
  private Segment<V> segmentOf(long h) {
    return segments[(int) (h >>> (64 - SEGMENT_BITS))];
  }

  private static long ports(FlowKey flow) {
    return ((long) flow.sourcePort() << 32)
        | ((long) flow.destinationPort() << 8)
        | flow.protocol().ordinal();
  }

  private long hash(FlowKey flow, long ports) {
    long h = (seed ^ flow.sourceLow()) * GOLDEN;
    h = (h ^ flow.destinationLow()) * GOLDEN;
    h = (h ^ ports) * GOLDEN;
    h = (h ^ flow.sourceHigh()) * GOLDEN;
    h = (h ^ flow.destinationHigh()) * GOLDEN;
    // segment from the top bits, slot from the low bits folded with the well-mixed high ones
    return h ^ (h >>> 32);
  }

  // ---------------------------------------------------------------- structure

  private static final VarHandle ACTIVE;
  private static final VarHandle LIVE;

  static {
    try {
      ACTIVE = MethodHandles.lookup().findVarHandle(Entry.class, "active", int.class);
      LIVE = MethodHandles.lookup().findVarHandle(Segment.class, "live", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** One flow: its tuple inline, its assignment, and its expiry bookkeeping. */
  static final class Entry<V> {
    final long hash;
    final long sourceHigh;
    final long sourceLow;
    final long destinationHigh;
    final long destinationLow;
    final long ports; // source port << 32 | destination port << 8 | protocol ordinal
    final V value;

    /** 1 when a lookup saw the flow since the last maintenance run; set with opaque stores. */
    @SuppressWarnings("unused")
    private int active = 1;

    /** The time of the maintenance run that last found the flow active; guarded by the segment. */
    long stamp;

    Entry(
        long hash,
        long sourceHigh,
        long sourceLow,
        long destinationHigh,
        long destinationLow,
        long ports,
        V value) {
      this.hash = hash;
      this.sourceHigh = sourceHigh;
      this.sourceLow = sourceLow;
      this.destinationHigh = destinationHigh;
      this.destinationLow = destinationLow;
      this.ports = ports;
      this.value = value;
    }

    boolean matches(FlowKey k, long ports) {
      return this.ports == ports
          && sourceLow == k.sourceLow()
          && destinationLow == k.destinationLow()
          && sourceHigh == k.sourceHigh()
          && destinationHigh == k.destinationHigh();
    }

    FlowKey key() {
      return FlowKey.ipv6(
          sourceHigh,
          sourceLow,
          (int) (ports >>> 32),
          destinationHigh,
          destinationLow,
          (int) (ports >>> 8) & 0xFFFF,
          PROTOCOLS[(int) ports & 0xFF]);
    }
  }

  /** One open-addressing table; every write holds its monitor, reads hold nothing. */
  private static final class Segment<V> {
    /** The slots: null (never used), {@link #TOMBSTONE} or an entry; replaced on rehash. */
    volatile Entry<V>[] table = newTable(MIN_SLOTS);

    int live; // entries
    int used; // entries and tombstones

    /** Capacity this segment holds for new flows, beyond its live ones. */
    int credit;

    @SuppressWarnings("unchecked")
    private Entry<V>[] newTable(int slots) {
      return (Entry<V>[]) new Entry<?>[slots];
    }

    void reset(int slots) {
      table = newTable(slots);
      live = 0;
      used = 0;
    }

    @SuppressWarnings("unchecked")
    void delete(int i) {
      table[i] = (Entry<V>) TOMBSTONE;
      live--;
      if (live < table.length >>> 3 && table.length > MIN_SLOTS) {
        rehash();
      }
    }

    /** Copies the live entries into a fresh table sized for them (a quarter full at most). */
    void rehash() {
      Entry<V>[] old = table;
      int slots = MIN_SLOTS;
      while (slots < 4L * live) {
        slots <<= 1;
      }
      Entry<V>[] t = newTable(slots);
      int mask = slots - 1;
      for (Entry<V> e : old) {
        if (e != null && e != TOMBSTONE) {
          int i = (int) e.hash & mask;
          while (t[i] != null) {
            i = (i + 1) & mask;
          }
          t[i] = e;
        }
      }
      used = live;
      table = t; // readers still on the old array see its entries, which stay valid
    }

    /**
     * Stamps entries active since the last run with {@code now}, moves those idle past their
     * timeout to {@code expired}; returns the shortest idle timeout left, or Long.MAX_VALUE.
     */
    @SuppressWarnings("unchecked")
    long sweep(long now, ToLongFunction<V> idleTimeoutNanos, List<Entry<V>> expired) {
      Entry<V>[] t = table;
      long shortest = Long.MAX_VALUE;
      int removed = 0;
      for (int i = 0; i < t.length; i++) {
        Entry<V> e = t[i];
        if (e == null || e == TOMBSTONE) {
          continue;
        }
        long idle = idleTimeoutNanos.applyAsLong(e.value);
        if ((int) ACTIVE.getOpaque(e) != 0) {
          ACTIVE.setOpaque(e, 0);
          e.stamp = now;
        } else if (now - e.stamp >= idle) {
          t[i] = (Entry<V>) TOMBSTONE;
          live--;
          removed++;
          expired.add(e);
          continue;
        }
        shortest = Math.min(shortest, idle);
      }
      if (removed > 0 && live < t.length >>> 3 && t.length > MIN_SLOTS) {
        rehash();
      }
      return shortest;
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
    private long seed = ThreadLocalRandom.current().nextLong();
    private Ticker ticker = Ticker.system();
    private ScheduledExecutorService scheduler;
    private boolean schedulerSet;
    private ToLongFunction<V> idleTimeoutNanos;
    private BiConsumer<FlowKey, V> onExpired = (k, v) -> {};

    private Builder() {}

    /**
     * Sets the most flows held; one million by default.
     *
     * @param capacity the most flows, 1 or more
     * @return this builder
     */
    public Builder<V> capacity(long capacity) {
      if (capacity < 1) {
        throw new IllegalArgumentException("flowTableCapacity: " + capacity + " (expected: >= 1)");
      }
      this.capacity = capacity;
      return this;
    }

    /**
     * Sets the seed of the table's tuple hash; random by default.
     *
     * @param seed the seed; tables with different seeds spread flows over segments differently
     * @return this builder
     */
    public Builder<V> seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Sets the time source; the system ticker by default, a fake one in tests.
     *
     * @param ticker the time source
     * @return this builder
     */
    public Builder<V> ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets where maintenance runs every tick while the table holds flows: a shared daemon thread by
     * default; {@code null} where only {@link FlowTable#cleanUp()} should maintain (tests).
     *
     * @param scheduler the maintenance executor, or null
     * @return this builder
     */
    public Builder<V> scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = scheduler;
      this.schedulerSet = true;
      return this;
    }

    /**
     * Sets each flow's idle timeout in nanoseconds, from its assignment; required.
     *
     * @param idleTimeoutNanos the idle timeout of a flow, from its assignment, in nanoseconds
     * @return this builder
     */
    public Builder<V> idleTimeoutNanos(ToLongFunction<V> idleTimeoutNanos) {
      this.idleTimeoutNanos = Objects.requireNonNull(idleTimeoutNanos, "idleTimeoutNanos");
      return this;
    }

    /**
     * Sets what runs when a flow idles out.
     *
     * @param onExpired receives each expired flow and its assignment, on the maintenance thread;
     *     must not block
     * @return this builder
     */
    public Builder<V> onExpired(BiConsumer<FlowKey, V> onExpired) {
      this.onExpired = Objects.requireNonNull(onExpired, "onExpired");
      return this;
    }

    /**
     * Returns the table.
     *
     * @return the table, empty
     * @throws IllegalStateException if no idle timeout was set
     */
    public FlowTable<V> build() {
      if (idleTimeoutNanos == null) {
        throw new IllegalStateException("idleTimeoutNanos: not set (expected: a function)");
      }
      if (!schedulerSet) {
        scheduler = SharedScheduler.INSTANCE;
      }
      return new FlowTable<>(this);
    }
  }
}

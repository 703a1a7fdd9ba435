package io.lb4j.testing;

import io.lb4j.spi.Ticker;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Time for tests that moves only when told to (gRPC's {@code FakeClock}): an lb4j {@link Ticker},
 * an {@link InstantSource} and a {@link ScheduledExecutorService} whose tasks run only in {@link
 * #forwardTime} and {@link #runDueTasks}, on the calling thread, in time order.
 *
 * <p>Thread-safe; tasks run on whichever thread moves the clock.
 */
public final class FakeClock extends AbstractExecutorService
    implements Ticker, InstantSource, ScheduledExecutorService {
  private static final Instant EPOCH = Instant.parse("2026-11-21T12:00:00Z");

  private final PriorityQueue<Task<?>> tasks = new PriorityQueue<>();
  private long nanos = 1_000_000_000L;
  private long sequence;
  private boolean shutdown;

  @Override
  public synchronized long read() {
    return nanos;
  }

  @Override
  public synchronized Instant instant() {
    return EPOCH.plusNanos(nanos);
  }

  /** Moves the clock forward by {@code duration}, running every task that falls due, in order. */
  public void forwardTime(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("duration: " + duration + " (expected: >= 0)");
    }
    long target;
    synchronized (this) {
      target = nanos + duration.toNanos();
    }
    while (true) {
      Task<?> next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.due > target) {
          nanos = target;
          return;
        }
        tasks.poll();
        nanos = Math.max(nanos, next.due);
      }
      next.run();
    }
  }

  /** Moves the clock forward by {@code n} nanoseconds. */
  public void forwardNanos(long n) {
    forwardTime(Duration.ofNanos(n));
  }

  /** Runs the tasks that are due now, including those they schedule for now; returns how many. */
  public int runDueTasks() {
    int ran = 0;
    while (true) {
      Task<?> next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.due > nanos) {
          return ran;
        }
        tasks.poll();
      }
      next.run();
      ran++;
    }
  }

  /** Returns the number of tasks waiting, due or not. */
  public synchronized int pendingTasks() {
    return tasks.size();
  }

  /** Returns the delays from now of the waiting tasks, soonest first. */
  public synchronized List<Duration> pendingDelays() {
    List<Task<?>> sorted = new ArrayList<>(tasks);
    sorted.sort(null);
    List<Duration> out = new ArrayList<>();
    for (Task<?> t : sorted) {
      out.add(Duration.ofNanos(t.due - nanos));
    }
    return out;
  }

  private synchronized <V> Task<V> add(Callable<V> callable, long delayNanos, long periodNanos) {
    if (shutdown) {
      throw new java.util.concurrent.RejectedExecutionException("shut down");
    }
    Task<V> t = new Task<>(callable, nanos + Math.max(0, delayNanos), periodNanos, sequence++);
    tasks.add(t);
    return t;
  }

  private synchronized void reschedule(Task<?> t) {
    if (!shutdown) {
      t.due += t.period;
      t.seq = sequence++;
      tasks.add(t);
    }
  }

  private synchronized void remove(Task<?> t) {
    tasks.remove(t);
  }

  @Override
  public void execute(Runnable command) {
    add(
        () -> {
          command.run();
          return null;
        },
        0,
        0);
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return add(
        () -> {
          command.run();
          return null;
        },
        unit.toNanos(delay),
        0);
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    return add(callable, unit.toNanos(delay), 0);
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    return add(
        () -> {
          command.run();
          return null;
        },
        unit.toNanos(initialDelay),
        unit.toNanos(period));
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable command, long initialDelay, long delay, TimeUnit unit) {
    return scheduleAtFixedRate(command, initialDelay, delay, unit);
  }

  @Override
  public synchronized void shutdown() {
    shutdown = true;
  }

  @Override
  public synchronized List<Runnable> shutdownNow() {
    shutdown = true;
    List<Runnable> out = new ArrayList<>(tasks);
    tasks.clear();
    return out;
  }

  @Override
  public synchronized boolean isShutdown() {
    return shutdown;
  }

  @Override
  public synchronized boolean isTerminated() {
    return shutdown && tasks.isEmpty();
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return isTerminated();
  }

  private final class Task<V> implements ScheduledFuture<V>, Runnable {
    private final Callable<V> callable;
    private final long period;
    long due;
    long seq;
    private boolean cancelled;
    private boolean done;
    private V value;
    private Throwable failure;

    Task(Callable<V> callable, long due, long period, long seq) {
      this.callable = callable;
      this.due = due;
      this.period = period;
      this.seq = seq;
    }

    @Override
    public void run() {
      synchronized (this) {
        if (cancelled) {
          return;
        }
      }
      try {
        V v = callable.call();
        synchronized (this) {
          value = v;
          done = period == 0;
        }
        if (period > 0) {
          reschedule(this);
        }
      } catch (Exception | AssertionError e) {
        synchronized (this) {
          failure = e;
          done = true;
        }
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - read(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      Task<?> t = (Task<?>) o;
      return due != t.due ? Long.compare(due, t.due) : Long.compare(seq, t.seq);
    }

    @Override
    public synchronized boolean cancel(boolean mayInterruptIfRunning) {
      if (done) {
        return false;
      }
      cancelled = true;
      done = true;
      remove(this);
      return true;
    }

    @Override
    public synchronized boolean isCancelled() {
      return cancelled;
    }

    @Override
    public synchronized boolean isDone() {
      return done;
    }

    @Override
    public synchronized V get() throws ExecutionException {
      if (cancelled) {
        throw new CancellationException();
      }
      if (!done) {
        throw new IllegalStateException("not run yet: move the clock");
      }
      if (failure != null) {
        throw new ExecutionException(failure);
      }
      return value;
    }

    @Override
    public V get(long timeout, TimeUnit unit) throws ExecutionException {
      return get();
    }
  }
}

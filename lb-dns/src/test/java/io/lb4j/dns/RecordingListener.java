package io.lb4j.dns;

import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A {@link MembershipSource.Listener} that records what it hears: {@code members [ids]} or {@code
 * failure <reason>}, and the thread each came on.
 *
 * <p>Thread-safe.
 */
final class RecordingListener implements MembershipSource.Listener {
  private final List<String> events = new ArrayList<>();
  private final List<String> threads = new ArrayList<>();

  @Override
  public synchronized void onMembers(List<Member> members) {
    events.add("members " + members.stream().map(m -> m.id() + " w" + m.weight()).toList());
    threads.add(Thread.currentThread().getName());
  }

  @Override
  public synchronized void onFailure(String reason) {
    events.add("failure " + reason);
    threads.add(Thread.currentThread().getName());
  }

  /** Returns the events so far and forgets them. */
  synchronized List<String> take() {
    List<String> out = List.copyOf(events);
    events.clear();
    return out;
  }

  synchronized List<String> threads() {
    return List.copyOf(threads);
  }

  /** Waits, bounded, until at least {@code n} events are recorded; returns them all. */
  List<String> await(int n, long timeout, TimeUnit unit) {
    long deadline = System.nanoTime() + unit.toNanos(timeout);
    while (true) {
      synchronized (this) {
        if (events.size() >= n) {
          return List.copyOf(events);
        }
      }
      if (System.nanoTime() - deadline > 0) {
        synchronized (this) {
          throw new AssertionError(
              "expected " + n + " events within " + timeout + " " + unit + ", got " + events);
        }
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
    }
  }
}

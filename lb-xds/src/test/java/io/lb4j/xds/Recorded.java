package io.lb4j.xds;

import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A source that forwards to another and records what it told its listener, so a test waits for the
 * next answer or failure instead of polling the balancer.
 *
 * <p>Thread-safe.
 */
final class Recorded implements MembershipSource {
  /** One thing the source said: members, or a failure's reason. */
  record Event(List<Member> members, String failure) {
    boolean isFailure() {
      return failure != null;
    }
  }

  final MembershipSource delegate;
  final BlockingQueue<Event> events = new LinkedBlockingQueue<>();

  Recorded(MembershipSource delegate) {
    this.delegate = delegate;
  }

  @Override
  public String describe() {
    return delegate.describe();
  }

  @Override
  public void start(Listener listener) {
    delegate.start(
        new Listener() {
          @Override
          public void onMembers(List<Member> members) {
            listener.onMembers(members);
            events.add(new Event(List.copyOf(members), null));
          }

          @Override
          public void onFailure(String reason) {
            listener.onFailure(reason);
            events.add(new Event(null, reason));
          }
        });
  }

  @Override
  public void close() {
    delegate.close();
  }

  /** Returns the next event, waiting at most {@code timeout}. */
  Event next(Duration timeout) throws InterruptedException {
    Event e = events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    if (e == null) {
      throw new AssertionError(describe() + ": nothing within " + timeout);
    }
    return e;
  }

  /** Returns the next answer with members, skipping failures, waiting at most {@code timeout}. */
  List<Member> nextMembers(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Event e = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (e == null) {
        throw new AssertionError(describe() + ": no members within " + timeout);
      }
      if (!e.isFailure()) {
        return e.members();
      }
    }
  }

  /** Returns the next failure, skipping answers, waiting at most {@code timeout}. */
  String nextFailure(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Event e = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (e == null) {
        throw new AssertionError(describe() + ": no failure within " + timeout);
      }
      if (e.isFailure()) {
        return e.failure();
      }
    }
  }
}

package io.lb4j.testing;

import io.lb4j.HealthProbe;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import io.lb4j.spi.HealthChecker;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A scripted {@link HealthChecker}: each address answers with the outcome set for it (success by
 * default) at once, or hangs; every call is recorded with the clock's time.
 *
 * <p>Thread-safe.
 */
public final class FakeHealthChecker implements HealthChecker {
  /** One call of {@link #check}. */
  public record Call(InetSocketAddress target, HealthProbe probe, java.time.Instant time) {}

  private final InstantSource clock;
  private final Map<InetSocketAddress, ProbeOutcome> outcomes = new ConcurrentHashMap<>();
  private final Map<InetSocketAddress, Boolean> hanging = new ConcurrentHashMap<>();
  private final List<Call> calls = new ArrayList<>();
  private final List<CompletableFuture<ProbeResult>> pending = new ArrayList<>();

  public FakeHealthChecker(InstantSource clock) {
    this.clock = clock;
  }

  /** Makes {@code target} answer {@code outcome} from now on. */
  public void answer(InetSocketAddress target, ProbeOutcome outcome) {
    outcomes.put(target, outcome);
    hanging.remove(target);
  }

  /** Makes probes of {@code target} never complete until {@link #answer} is called. */
  public void hang(InetSocketAddress target) {
    hanging.put(target, true);
  }

  /** Returns the calls so far. */
  public synchronized List<Call> calls() {
    return new ArrayList<>(calls);
  }

  /** Returns the calls for {@code target} so far. */
  public synchronized List<Call> calls(InetSocketAddress target) {
    List<Call> out = new ArrayList<>();
    for (Call c : calls) {
      if (c.target().equals(target)) {
        out.add(c);
      }
    }
    return out;
  }

  /** Returns how many probes hang now, not cancelled. */
  public synchronized int hangingNow() {
    int n = 0;
    for (CompletableFuture<ProbeResult> f : pending) {
      n += f.isDone() ? 0 : 1;
    }
    return n;
  }

  @Override
  public synchronized CompletionStage<ProbeResult> check(
      InetSocketAddress target, HealthProbe probe) {
    calls.add(new Call(target, probe, clock.instant()));
    if (hanging.containsKey(target)) {
      CompletableFuture<ProbeResult> f = new CompletableFuture<>();
      pending.add(f);
      return f;
    }
    ProbeOutcome outcome = outcomes.getOrDefault(target, ProbeOutcome.SUCCESS);
    return CompletableFuture.completedFuture(
        new ProbeResult(clock.instant(), outcome, Duration.ofMillis(1), "scripted " + outcome));
  }
}

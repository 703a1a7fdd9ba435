package io.lb4j.spi;

import io.lb4j.HealthProbe;
import io.lb4j.ProbeResult;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletionStage;

/**
 * Runs one probe of one target without blocking: the I/O half of health checking.
 *
 * <p>The returned stage completes with the result, a failed probe included, and never
 * exceptionally; it should complete within the probe's timeout, and the prober records a timeout
 * itself when it does not. Cancelling the stage abandons the probe. Built-in: {@code
 * io.lb4j.core.health.NioHealthChecker}.
 *
 * <p>Implementations must be thread-safe.
 */
@FunctionalInterface
public interface HealthChecker {

  /**
   * Starts a probe of {@code target} as {@code probe} describes and returns its result.
   *
   * @param target the address and port to probe
   * @param probe the protocol, path, expected statuses, timeout and host to probe with
   * @return a stage that completes with the result, a failure included, and never exceptionally
   */
  CompletionStage<ProbeResult> check(InetSocketAddress target, HealthProbe probe);
}

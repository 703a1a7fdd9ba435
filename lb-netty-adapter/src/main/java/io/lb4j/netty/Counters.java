package io.lb4j.netty;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Connection counters of a rule, a backend of a rule, or a frontend. Updated by the event loops
 * without locks; {@link #snapshot()} reads them.
 *
 * <p>Thread-safe.
 */
public final class Counters {
  final AtomicLong active = new AtomicLong();
  final LongAdder total = new LongAdder();
  final LongAdder bytesToBackend = new LongAdder();
  final LongAdder bytesToClient = new LongAdder();
  final LongAdder connectFailures = new LongAdder();
  final LongAdder resets = new LongAdder();
  final LongAdder idleTimeouts = new LongAdder();
  final LongAdder refusals = new LongAdder();
  final LongAdder hairpin = new LongAdder();
  final LongAdder proxyHeaderErrors = new LongAdder();
  final LongAdder proxyHeaderTimeouts = new LongAdder();
  final LongAdder sourcePortFailures = new LongAdder();

  /** {@return the counts now} */
  public Snapshot snapshot() {
    return new Snapshot(
        active.get(),
        total.sum(),
        bytesToBackend.sum(),
        bytesToClient.sum(),
        connectFailures.sum(),
        resets.sum(),
        idleTimeouts.sum(),
        refusals.sum(),
        hairpin.sum(),
        proxyHeaderErrors.sum(),
        proxyHeaderTimeouts.sum(),
        sourcePortFailures.sum());
  }

  /**
   * Counts at one moment.
   *
   * <p>Instances are immutable and thread-safe.
   *
   * @param activeConnections connections open now
   * @param totalConnections connections accepted (frontend, rule) or made (backend) so far
   * @param bytesToBackend bytes relayed from clients to backends
   * @param bytesToClient bytes relayed from backends to clients
   * @param connectFailures connects to backends that failed (refused, timed out, unreachable)
   * @param resets connections the proxy ended with a TCP reset
   * @param idleTimeouts connections closed by the idle timeout
   * @param refusals connections refused: source filter, connection limit, no available backend,
   *     malformed PROXY header
   * @param hairpinConnections connections whose client is itself a backend of the pool it reached
   * @param proxyHeaderErrors connections closed for a malformed, oversized or truncated PROXY
   *     header from an upstream balancer (also counted as refusals)
   * @param proxyHeaderTimeouts connections closed because their PROXY header was not complete
   *     within the frontend's {@link FrontendOptions#proxyProtocolTimeout()} (also counted as PROXY
   *     header errors and refusals)
   * @param sourcePortFailures connects to backends that failed for want of a local source port
   *     ({@code EADDRNOTAVAIL}, "Cannot assign requested address", or a source's own port range
   *     used up; also counted as connect failures, not reported to passive health: the backend is
   *     not at fault)
   */
  public record Snapshot(
      long activeConnections,
      long totalConnections,
      long bytesToBackend,
      long bytesToClient,
      long connectFailures,
      long resets,
      long idleTimeouts,
      long refusals,
      long hairpinConnections,
      long proxyHeaderErrors,
      long proxyHeaderTimeouts,
      long sourcePortFailures) {}
}

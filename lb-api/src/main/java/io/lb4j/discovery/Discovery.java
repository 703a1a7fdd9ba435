package io.lb4j.discovery;

/**
 * A {@link MembershipSource} attached to a pool of a balancer: its status, and {@link #close()} to
 * detach it (the source is closed; the pool keeps the members it has).
 *
 * <p>Thread-safe.
 */
public interface Discovery extends AutoCloseable {

  /** {@return the source's status now} */
  DiscoveryStatus status();

  /** Detaches and closes the source; the pool keeps its members. Idempotent. */
  @Override
  void close();
}

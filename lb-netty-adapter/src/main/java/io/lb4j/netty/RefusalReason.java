package io.lb4j.netty;

/**
 * Why a frontend refused a client's connection before relaying a byte of it.
 *
 * <p>Immutable and thread-safe.
 */
public enum RefusalReason {
  /** A network of the frontend's {@code deny} list holds the source. */
  DENY_LIST,
  /** The frontend has an {@code allow} list and none of its networks holds the source. */
  NOT_IN_ALLOW_LIST,
  /** The frontend had {@code maxConnections} open already. */
  CONNECTION_LIMIT,
  /** The PROXY header was malformed, oversized, of an unknown kind, or cut short. */
  PROXY_HEADER_ERROR,
  /** The PROXY header was not complete within the frontend's {@code proxyProtocolTimeout}. */
  PROXY_HEADER_TIMEOUT,
  /** The balancer selected no backend: none available, none in the pool, or a full flow table. */
  NO_BACKEND
}

package io.lb4j.netty;

/**
 * Whether the proxy sends the HAProxy PROXY protocol header to backends, so that they learn the
 * client's address (the proxy is the source of the backend connection).
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum ProxyProtocol {
  /** No header; the backend sees the proxy as the client. */
  NONE,
  /** The human-readable version 1 header, {@code PROXY TCP4 src dst sport dport\r\n}. */
  V1,
  /** The binary version 2 header. */
  V2
}

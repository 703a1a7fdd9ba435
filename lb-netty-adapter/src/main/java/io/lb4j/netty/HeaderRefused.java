package io.lb4j.netty;

/**
 * The user event {@link ProxyProtocolDecoder} fires before it closes a connection whose PROXY
 * header was bad or late, so that the frontend handler's connection log says why.
 *
 * <p>Immutable and thread-safe.
 *
 * @param reason {@link RefusalReason#PROXY_HEADER_ERROR} or {@link
 *     RefusalReason#PROXY_HEADER_TIMEOUT}
 * @param match the error, or the deadline that passed
 */
record HeaderRefused(RefusalReason reason, String match) {}

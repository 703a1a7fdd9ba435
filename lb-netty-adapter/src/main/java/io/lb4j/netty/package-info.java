/**
 * The Netty adapter: lb4j's core as a TCP/UDP NAT proxy and the standalone proxy that runs from a
 * configuration file.
 *
 * <p>The module builds and carries its dependencies; the proxy itself is the subject of the
 * adapter's own work item and is not in this release yet.
 */
package io.lb4j.netty;

/**
 * The Netty adapter: {@link io.lb4j.netty.NettyL4Proxy}, a TCP NAT proxy over lb4j's balancer, and
 * the standalone proxy run from a YAML file ({@link io.lb4j.netty.ProxyMain}).
 */
package io.lb4j.netty;

/**
 * The standalone proxy, {@code lb4j-proxy.jar}: {@link io.lb4j.proxy.ProxyMain} (the command line),
 * {@link io.lb4j.proxy.StandaloneProxy} (a {@link io.lb4j.netty.NettyL4Proxy} run from a YAML file
 * read by {@link io.lb4j.proxy.ConfigLoader}), the admin endpoint and its pages, and Prometheus
 * metrics.
 */
package io.lb4j.proxy;

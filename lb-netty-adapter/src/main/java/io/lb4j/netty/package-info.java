/**
 * The Netty adapter: {@link io.lb4j.netty.NettyL4Proxy}, an embeddable TCP NAT proxy over lb4j's
 * balancer, with its options ({@link io.lb4j.netty.FrontendOptions}, {@link
 * io.lb4j.netty.RuleOptions}, {@link io.lb4j.netty.Transport}) and counters. Netty and lb-core
 * only; the standalone proxy run from a YAML file is the {@code lb-proxy} module ({@code
 * io.lb4j.proxy}).
 */
package io.lb4j.netty;

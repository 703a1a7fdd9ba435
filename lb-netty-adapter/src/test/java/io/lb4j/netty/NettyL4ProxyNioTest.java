package io.lb4j.netty;

/** Every proxy test of {@link NettyL4ProxyTest} again on Java NIO, the portable fallback. */
class NettyL4ProxyNioTest extends NettyL4ProxyTest {
  @Override
  Transport transport() {
    return Transport.NIO;
  }
}

package io.lb4j.netty;

/**
 * Every proxy test of {@link NettyL4ProxyTest} again on io_uring; skipped where it does not load.
 */
class NettyL4ProxyIoUringTest extends NettyL4ProxyTest {
  @Override
  Transport transport() {
    return Transport.IO_URING;
  }
}

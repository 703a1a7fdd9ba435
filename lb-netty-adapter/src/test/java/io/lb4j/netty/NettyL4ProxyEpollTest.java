package io.lb4j.netty;

/**
 * Every proxy test of {@link NettyL4ProxyTest} again on epoll: the default transport ({@link
 * Transport#AUTO}) picks io_uring where it loads, so epoll needs its own run.
 */
class NettyL4ProxyEpollTest extends NettyL4ProxyTest {
  @Override
  Transport transport() {
    return Transport.EPOLL;
  }
}

package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every proxy test of {@link NettyL4ProxyTest} again on Java NIO, the portable fallback. */
class NettyL4ProxyNioTest extends NettyL4ProxyTest {
  @BeforeAll
  static void useNio() {
    ProxyFixture.transport = Transport.NIO;
  }

  @AfterAll
  static void backToAuto() {
    ProxyFixture.transport = Transport.AUTO;
  }

  @Test
  void fixture_runsOnNio() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.ECHO)) {
      assertEquals(Transport.NIO, f.proxy.transport());
    }
  }
}

package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every proxy test of {@link NettyL4ProxyTest} again on the io_uring transport. */
class NettyL4ProxyIoUringTest extends NettyL4ProxyTest {
  @BeforeAll
  static void useIoUring() {
    Assumptions.assumeTrue(
        IoUring.isAvailable(),
        () -> "io_uring does not load here (" + IoUring.unavailabilityCause() + ")");
    ProxyFixture.transport = Transport.IO_URING;
  }

  @AfterAll
  static void backToAuto() {
    ProxyFixture.transport = Transport.AUTO;
  }

  @Test
  void fixture_runsOnIoUring() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.ECHO)) {
      assertEquals(Transport.IO_URING, f.proxy.transport());
    }
  }
}

package io.lb4j.netty;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Test access to a proxy's event loops, for tests outside this package (a watchdog's). */
public final class ProxyLoops {
  private ProxyLoops() {}

  /**
   * Blocks one event loop of {@code proxy} until {@code release} counts down (30 s at most);
   * returns once the loop is blocked.
   *
   * @throws IllegalStateException if the loop did not take the task within 5 s
   */
  public static void block(NettyL4Proxy proxy, CountDownLatch release) throws InterruptedException {
    CountDownLatch blocking = new CountDownLatch(1);
    proxy
        .eventLoops()
        .iterator()
        .next()
        .execute(
            () -> {
              blocking.countDown();
              try {
                release.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    if (!blocking.await(5, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the event loop did not take the blocking task in 5 s");
    }
  }
}

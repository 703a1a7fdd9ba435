package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.core.L4LoadBalancer;
import io.netty.util.concurrent.EventExecutor;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link NettyL4Proxy#eventLoopsAnswer()}: what a watchdog pings on. */
class EventLoopsAnswerTest {
  private L4LoadBalancer lb;
  private NettyL4Proxy proxy;

  @BeforeEach
  void setUp() throws Exception {
    lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("fe", "127.0.0.1"))
                    .pool(new BackendPool("web", List.of(Backend.of("web-0", "127.0.0.2", 9))))
                    .rule(
                        LoadBalancingRule.builder("app")
                            .frontend("fe")
                            .frontendPort(TestServer.freePort("127.0.0.1"))
                            .backendPool("web")
                            .build())
                    .build())
            .build();
    proxy = NettyL4Proxy.builder().loadBalancer(lb).ioThreads(3).build().start();
  }

  @AfterEach
  void tearDown() {
    proxy.close();
    lb.close();
  }

  @Test
  void eventLoopsAnswer_allLoopsRun_completes() throws Exception {
    assertNull(proxy.eventLoopsAnswer().get(5, TimeUnit.SECONDS));
  }

  @Test
  void eventLoopsAnswer_oneLoopStuck_pendingUntilItRunsAgain() throws Exception {
    EventExecutor stuck = proxy.eventLoops().iterator().next();
    CountDownLatch blocking = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    stuck.execute(
        () -> {
          blocking.countDown();
          try {
            release.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    assertTrue(blocking.await(5, TimeUnit.SECONDS), "the loop took the blocking task");
    CompletableFuture<Void> answer = proxy.eventLoopsAnswer();
    // the stuck loop runs nothing until released, so the answer cannot have come
    assertFalse(answer.isDone());
    release.countDown();
    assertNull(answer.get(5, TimeUnit.SECONDS));
  }

  @Test
  void eventLoopsAnswer_afterClose_fails() {
    proxy.close();
    ExecutionException e =
        assertThrows(
            ExecutionException.class, () -> proxy.eventLoopsAnswer().get(5, TimeUnit.SECONDS));
    assertInstanceOf(RejectedExecutionException.class, e.getCause());
  }
}

package io.lb4j.kubernetes;

import static io.lb4j.kubernetes.Slices.ready;
import static io.lb4j.kubernetes.Slices.slice;
import static io.lb4j.kubernetes.Slices.webPorts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lb4j.discovery.Member;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When the source answers and when it reports a failure, with a watch the test drives and a fake
 * clock: no partial answer before the first list, a watch down for the grace period (2 s) reported
 * once, list and watch errors reported at once with a hint, the full answer again when the watch is
 * back, nothing after close. The real informer against a mock API server is {@link
 * KubernetesMembershipSourceTest}.
 */
class KubernetesMembershipSourceFailureTest {
  private final FakeSliceWatch watch = new FakeSliceWatch();
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final RecordingListener listener = new RecordingListener();
  private KubernetesMembershipSource source;

  @BeforeEach
  void start() throws Exception {
    source =
        KubernetesMembershipSource.builder()
            .config(Config.empty())
            .namespace("shop")
            .service("web")
            .port("http")
            // the default 1 s: a grace of 2 s; checks the scheduler runs besides the test's own see
            // the same fake time, so they change nothing
            .connectionCheckInterval(Duration.ofSeconds(1))
            .build(s -> watch, nanos::get);
    source.start(listener);
    idle();
    assertNotNull(watch.events, "the watch was not started");
  }

  @AfterEach
  void close() {
    source.close();
  }

  /** Waits until the source's thread has run everything asked of it so far. */
  private void idle() throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    source.submit(() -> done.complete(null));
    done.get(10, TimeUnit.SECONDS);
  }

  private void check() throws Exception {
    source.submit(source::check);
    idle();
  }

  private void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  private RecordingListener.Said nextSaid() throws Exception {
    idle();
    return listener.poll();
  }

  @Test
  void noAnswerBeforeTheFirstCompleteList() throws Exception {
    watch.slices.add(slice("web-a", "web", webPorts(), ready("127.10.0.1")));
    watch.events.changed(); // an add seen during the first list
    assertNull(nextSaid(), "a partial answer");

    watch.listed(
        slice("web-a", "web", webPorts(), ready("127.10.0.1")),
        slice("web-b", "web", webPorts(), ready("127.10.0.2")));
    RecordingListener.Said first = nextSaid();
    assertEquals(2, first.members().size());
    assertTrue(first.thread().startsWith("lb4j-kubernetes-shop/web"), first.thread());
  }

  @Test
  void watchDown_reportedOnceAfterTheGracePeriod_thenTheAnswerAgain() throws Exception {
    watch.listed(slice("web-a", "web", webPorts(), ready("127.10.0.1")));
    assertNotNull(nextSaid().members());

    watch.watching = false; // the connection is gone; the informer reconnects by itself
    check();
    advance(Duration.ofMillis(1_999));
    check();
    assertNull(nextSaid(), "reported within the grace period: a watch restart is not a failure");

    advance(Duration.ofMillis(1));
    check();
    RecordingListener.Said failure = nextSaid();
    assertEquals(
        "the watch is down for 2s at https://fake.test:6443/, reconnecting", failure.failure());
    advance(Duration.ofSeconds(30));
    check();
    assertNull(nextSaid(), "reported again while still down");

    // events while down give no answer: the cache may be stale, the failure stands
    watch.events.changed();
    assertNull(nextSaid());

    watch.slices.add(slice("web-b", "web", webPorts(), ready("127.10.0.2")));
    watch.watching = true;
    check();
    List<Member> again = nextSaid().members();
    assertEquals(2, again.size(), "the full answer once the watch is back");
  }

  @Test
  void listOrWatchError_reportedAtOnce_withWhatToDo() throws Exception {
    watch.events.failed(
        new KubernetesClientException("endpointslices.discovery.k8s.io is forbidden", 403, null));
    RecordingListener.Said failure = nextSaid();
    assertTrue(
        failure.failure().startsWith("list or watch failed at https://fake.test:6443/: HTTP 403"),
        failure.failure());
    assertTrue(
        failure.failure().contains("get, list and watch on endpointslices"), failure.failure());

    // the informer retries; its first list then succeeds
    watch.listed(slice("web-a", "web", webPorts(), ready("127.10.0.1")));
    assertEquals(1, nextSaid().members().size());
  }

  @Test
  void notSyncedYet_aWatchNotConnectedIsNoFailureByItself() throws Exception {
    check();
    advance(Duration.ofMinutes(1));
    check();
    assertNull(nextSaid(), "the first list is slow, not failed: its errors are reported");
  }

  @Test
  void watchThatCannotStart_reported_thenStartedAgainAtTheNextCheck() throws Exception {
    FakeSliceWatch refusing = new FakeSliceWatch();
    refusing.startsToRefuse = 1;
    RecordingListener l = new RecordingListener();
    KubernetesMembershipSource s =
        KubernetesMembershipSource.builder()
            .config(Config.empty())
            .namespace("shop")
            .service("web")
            .port(8080)
            .connectionCheckInterval(Duration.ofDays(1))
            .build(x -> refusing, nanos::get);
    try {
      s.start(l);
      RecordingListener.Said failure = l.next();
      assertEquals(
          "cannot start watching: IllegalStateException: refused by the test", failure.failure());
      CompletableFuture<Void> checked = new CompletableFuture<>();
      s.submit(s::check);
      s.submit(() -> checked.complete(null));
      checked.get(10, TimeUnit.SECONDS);
      assertEquals(2, refusing.starts);
      refusing.listed(slice("web-a", "web", webPorts(), ready("127.10.0.1")));
      assertEquals(
          List.of("127.10.0.1:8080"),
          l.awaitIds("127.10.0.1:8080").stream().map(Member::id).toList());
    } finally {
      s.close();
    }
  }

  @Test
  void close_noAnswerAfter() throws Exception {
    watch.listed(slice("web-a", "web", webPorts(), ready("127.10.0.1")));
    assertNotNull(nextSaid().members());
    source.close();
    assertTrue(watch.closed);
    watch.events.changed();
    watch.events.failed(new IllegalStateException("late"));
    assertNull(listener.poll());
  }
}

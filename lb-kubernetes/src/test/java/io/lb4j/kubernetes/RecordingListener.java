package io.lb4j.kubernetes;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A listener that keeps what a source said, and on which thread, for a test to take in order. */
final class RecordingListener implements MembershipSource.Listener {
  /** One thing a source said: members (then {@code failure} is null) or a failure. */
  record Said(List<Member> members, String failure, String thread) {}

  private final BlockingQueue<Said> said = new LinkedBlockingQueue<>();

  @Override
  public void onMembers(List<Member> members) {
    said.add(new Said(List.copyOf(members), null, Thread.currentThread().getName()));
  }

  @Override
  public void onFailure(String reason) {
    said.add(new Said(null, reason, Thread.currentThread().getName()));
  }

  /** Returns the next thing said if there is one now, else null. */
  Said poll() {
    return said.poll();
  }

  /** Returns the next thing said, waiting at most 10 s. */
  Said next() throws InterruptedException {
    Said s = said.poll(10, TimeUnit.SECONDS);
    assertNotNull(s, "the source said nothing within 10 s");
    return s;
  }

  /** Returns the next answer, skipping failures, waiting at most 10 s for each. */
  List<Member> nextMembers() throws InterruptedException {
    for (int i = 0; i < 100; i++) {
      Said s = next();
      if (s.members() != null) {
        return s.members();
      }
    }
    throw new AssertionError("100 failures and no answer");
  }

  /**
   * Returns the first answer whose ids are {@code ids}, skipping others (an answer may repeat the
   * one before it: the source gives one per event, and the balancer drops equal ones).
   */
  List<Member> awaitIds(String... ids) throws InterruptedException {
    List<String> wanted = List.of(ids);
    List<String> last = null;
    for (int i = 0; i < 100; i++) {
      List<Member> m = nextMembers();
      last = m.stream().map(Member::id).toList();
      if (last.equals(wanted)) {
        return m;
      }
    }
    throw new AssertionError("100 answers, none " + wanted + "; the last " + last);
  }
}

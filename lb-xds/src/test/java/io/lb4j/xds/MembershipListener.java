package io.lb4j.xds;

import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.util.List;

/** A listener that does nothing, for tests that read a {@link Recorded} source's events. */
final class MembershipListener implements MembershipSource.Listener {
  @Override
  public void onMembers(List<Member> members) {}

  @Override
  public void onFailure(String reason) {}
}

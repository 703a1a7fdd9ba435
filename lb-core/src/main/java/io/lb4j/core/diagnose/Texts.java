package io.lb4j.core.diagnose;

import io.lb4j.Durations;
import io.lb4j.Frontend;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.Protocol;
import java.net.InetAddress;
import java.time.Duration;

/** The small formatting rules every finding shares. */
final class Texts {
  private Texts() {}

  /** Returns {@code 127.0.0.2:8080} or {@code [::1]:8080}. */
  static String hostPort(InetAddress address, int port) {
    return IpLiteral.format(address, port);
  }

  /** Returns "1 flow" or "3 flows". */
  static String count(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  /** Returns a duration as a person writes it: 5s, 250ms, 4m. */
  static String human(Duration d) {
    return Durations.format(d);
  }

  /** Returns where a rule listens: {@code 127.0.0.1:80/TCP}. */
  static String listen(LoadBalancerConfig config, String frontend, int port, Protocol protocol) {
    Frontend f = config.frontend(frontend);
    return hostPort(f.address(), port) + "/" + protocol;
  }
}

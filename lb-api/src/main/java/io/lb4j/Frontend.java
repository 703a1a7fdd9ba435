package io.lb4j;

import java.net.InetAddress;

/**
 * The address clients connect to. A rule listens on a frontend's address at its own port and
 * protocol. The wildcard address ({@code 0.0.0.0} or {@code ::}) matches flows to any destination
 * address.
 *
 * <pre>{@code
 * Frontend web = Frontend.of("web", "127.0.0.1");
 * }</pre>
 *
 * <p>{@link #toString()} reads {@code web(127.0.0.1)}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param name the frontend's name, unique in a configuration
 * @param address its IP address
 */
public record Frontend(String name, InetAddress address) {

  /**
   * Validates the name.
   *
   * @param name the frontend's name, unique in a configuration
   * @param address its IP address
   */
  public Frontend {
    Checks.name("name", name);
    Checks.notNull(address, "address");
  }

  /**
   * Returns a frontend named {@code name} at the IP literal {@code address}; host names are
   * refused, never resolved.
   *
   * @param name the frontend's name: 1-64 characters of {@code [A-Za-z0-9._:-]}, starting with a
   *     letter or digit
   * @param address an IPv4 or IPv6 literal, or {@code 0.0.0.0} or {@code ::} for any address
   * @return the frontend
   * @throws IllegalArgumentException if the name or the address is invalid
   */
  public static Frontend of(String name, String address) {
    return new Frontend(name, Checks.ipLiteral("address", address));
  }

  /** {@return whether the address is the wildcard that matches any destination address} */
  public boolean isWildcard() {
    return address.isAnyLocalAddress();
  }

  @Override
  public String toString() {
    return name + "(" + IpLiteral.format(address) + ")";
  }
}

package io.lb4j.proxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Where the admin endpoint listens and who may use it ({@code admin:} in the file; see {@code
 * docs/proxy.md}, "Admin security").
 *
 * <p>Instances are immutable and thread-safe. {@link #toString()} leaves the token out.
 *
 * @param address where the endpoint listens
 * @param token when set, what a state-changing request ({@code POST /reload}) must send in the
 *     {@value AdminServer#TOKEN_HEADER} header; when null, such a request must be a {@code POST}
 *     with {@code Content-Type: application/json}, which no web page can send cross-origin
 * @param allowedHosts names a request's {@code Host} may carry besides the endpoint's own address
 *     and {@code localhost} (a reverse proxy's name, say); any other name is refused, which stops
 *     DNS rebinding
 * @param idleTimeout how long a connection may stay open without a byte in either direction
 */
public record AdminOptions(
    InetSocketAddress address, String token, Set<String> allowedHosts, Duration idleTimeout) {

  /**
   * The default idle timeout of an admin connection, 60 s (nginx's {@code client_header_timeout}).
   */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);

  /** The shortest token accepted, 16 characters: a guessable token protects nothing. */
  public static final int MIN_TOKEN_LENGTH = 16;

  /** Validates, and lower-cases the host names. */
  public AdminOptions {
    Objects.requireNonNull(address, "address");
    if (token != null && (token.length() < MIN_TOKEN_LENGTH || !token.strip().equals(token))) {
      throw new IllegalArgumentException(
          "token: "
              + token.length()
              + " characters"
              + (token.strip().equals(token) ? "" : " with spaces around")
              + " (expected: at least "
              + MIN_TOKEN_LENGTH
              + " characters, no spaces around, such as the output of openssl rand -hex 16)");
    }
    Set<String> hosts = new LinkedHashSet<>();
    for (String h : allowedHosts) {
      if (h == null || h.isBlank() || h.contains(":") && !h.startsWith("[") || h.contains("/")) {
        throw new IllegalArgumentException(
            "allowedHosts: '"
                + h
                + "' (expected: a host name or address without port, such as lb.example.com)");
      }
      hosts.add(h.toLowerCase(Locale.ROOT));
    }
    allowedHosts = Set.copyOf(hosts);
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException(
          "idleTimeout: " + idleTimeout + " (expected: a positive duration such as 60s)");
    }
  }

  /** Returns options for {@code address}: no token, no other host names, a 60 s idle timeout. */
  public static AdminOptions at(InetSocketAddress address) {
    return new AdminOptions(address, null, Set.of(), DEFAULT_IDLE_TIMEOUT);
  }

  /** Returns these options with {@code token}. */
  public AdminOptions withToken(String token) {
    return new AdminOptions(address, token, allowedHosts, idleTimeout);
  }

  /** Returns these options with {@code allowedHosts}. */
  public AdminOptions withAllowedHosts(Set<String> allowedHosts) {
    return new AdminOptions(address, token, allowedHosts, idleTimeout);
  }

  /** Returns these options with {@code idleTimeout}. */
  public AdminOptions withIdleTimeout(Duration idleTimeout) {
    return new AdminOptions(address, token, allowedHosts, idleTimeout);
  }

  @Override
  public String toString() {
    return "AdminOptions[address="
        + address
        + ", token="
        + (token == null ? "none" : "(set)")
        + ", allowedHosts="
        + allowedHosts
        + ", idleTimeout="
        + idleTimeout
        + "]";
  }
}

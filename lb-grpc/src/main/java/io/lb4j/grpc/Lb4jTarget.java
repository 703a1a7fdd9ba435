package io.lb4j.grpc;

import java.net.URI;
import java.util.regex.Pattern;

/**
 * A parsed {@code lb4j:} target: {@code lb4j:///<rule>} (no name: the bound balancer, or the one
 * registered as {@value Lb4jGrpc#DEFAULT_NAME}) or {@code lb4j://<name>/<rule>}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param name the registered name, or null when the target has none
 * @param rule the rule's name
 * @param text the target as given
 */
record Lb4jTarget(String name, String rule, String text) {

  /** Registered names: a URI host of letters, digits, {@code . _ -}. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

  /** Rule names, as lb4j accepts them. */
  private static final Pattern RULE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");

  private static final String FORMS = "lb4j:///<rule> or lb4j://<name>/<rule>";

  /**
   * Parses {@code uri}, whose scheme is {@code lb4j}.
   *
   * @throws IllegalArgumentException naming the target and the form expected
   */
  static Lb4jTarget parse(URI uri) {
    String text = uri.toString();
    if (uri.isOpaque() || uri.getRawPath() == null) {
      throw bad(text, "no path");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw bad(text, "a query or fragment");
    }
    if (uri.getRawUserInfo() != null || uri.getPort() != -1) {
      throw bad(text, "user info or a port in the authority");
    }
    String authority = uri.getRawAuthority();
    String name = null;
    if (authority != null && !authority.isEmpty()) {
      if (!NAME.matcher(authority).matches()) {
        throw bad(text, "name '" + authority + "', not letters, digits, . _ -");
      }
      name = authority;
    }
    String path = uri.getRawPath();
    String rule = path.startsWith("/") ? path.substring(1) : path;
    if (!RULE.matcher(rule).matches()) {
      throw bad(
          text,
          rule.isEmpty()
              ? "no rule"
              : "rule '" + rule + "', not one path segment of letters, digits, . _ : -");
    }
    return new Lb4jTarget(name, rule, text);
  }

  static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "name: "
              + (name == null ? null : "'" + name + "'")
              + " (expected: 1-63 letters, digits, . _ -, starting with a letter or digit)");
    }
    return name;
  }

  static String checkRule(String rule) {
    if (rule == null || !RULE.matcher(rule).matches()) {
      throw new IllegalArgumentException(
          "rule: "
              + (rule == null ? null : "'" + rule + "'")
              + " (expected: an lb4j rule name, 1-64 letters, digits, . _ : -)");
    }
    return rule;
  }

  private static IllegalArgumentException bad(String text, String problem) {
    return new IllegalArgumentException(
        "target: '" + text + "' (expected: " + FORMS + "; it has " + problem + ")");
  }

  @Override
  public String toString() {
    return text;
  }
}

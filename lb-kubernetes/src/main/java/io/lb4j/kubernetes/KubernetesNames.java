package io.lb4j.kubernetes;

import java.util.regex.Pattern;

/**
 * Kubernetes' name rules for the names a source is given, checked before anything is asked of the
 * API server, so that a typo fails at once and says what was expected instead of watching nothing.
 *
 * <p>Thread-safe: stateless.
 */
final class KubernetesNames {
  /** RFC 1035 label: a Service's name. */
  private static final Pattern DNS_1035_LABEL = Pattern.compile("[a-z]([-a-z0-9]*[a-z0-9])?");

  /** RFC 1123 label: a namespace's name, a Service port's name. */
  private static final Pattern DNS_1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

  private static final int MAX_LABEL = 63;

  private KubernetesNames() {}

  /** Returns {@code value}, a Service name (an RFC 1035 label), or throws naming {@code field}. */
  static String serviceName(String field, String value) {
    if (value == null || value.length() > MAX_LABEL || !DNS_1035_LABEL.matcher(value).matches()) {
      throw new IllegalArgumentException(
          field
              + ": "
              + quote(value)
              + " (expected: a Service name: at most 63 lowercase letters, digits and '-',"
              + " starting with a letter and ending with a letter or digit)");
    }
    return value;
  }

  /**
   * Returns {@code value}, a namespace name (an RFC 1123 label), or throws naming {@code field}.
   */
  static String namespace(String field, String value) {
    if (value == null || value.length() > MAX_LABEL || !DNS_1123_LABEL.matcher(value).matches()) {
      throw new IllegalArgumentException(
          field
              + ": "
              + quote(value)
              + " (expected: a namespace: at most 63 lowercase letters, digits and '-',"
              + " starting and ending with a letter or digit)");
    }
    return value;
  }

  /** Returns {@code value}, a Service port's name (an RFC 1123 label), or throws. */
  static String portName(String field, String value) {
    if (value == null || value.length() > MAX_LABEL || !DNS_1123_LABEL.matcher(value).matches()) {
      throw new IllegalArgumentException(
          field
              + ": "
              + quote(value)
              + " (expected: a port number 1-65535, or the name of one of the Service's ports:"
              + " at most 63 lowercase letters, digits and '-')");
    }
    return value;
  }

  static String quote(String value) {
    return value == null ? "null" : "'" + value + "'";
  }
}

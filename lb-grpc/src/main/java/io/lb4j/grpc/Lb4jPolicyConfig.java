package io.lb4j.grpc;

import io.grpc.Metadata;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The lb4j policy's settings, from its entry in a service config's {@code loadBalancingConfig}:
 *
 * <pre>{@code
 * {"loadBalancingConfig": [{"lb4j": {"keyHeader": "x-user-id"}}]}
 * }</pre>
 *
 * <ul>
 *   <li>{@code keyHeader}: the request header an RPC's key is read from, {@value
 *       Lb4jGrpc#DEFAULT_KEY_HEADER} when absent, none when {@code ""}. An ASCII header: lower-case
 *       letters, digits, {@code - _ .}, not ending in {@code -bin}, not {@code grpc-} reserved.
 * </ul>
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param keyHeader the header the key is read from, or {@code ""} for none
 */
record Lb4jPolicyConfig(String keyHeader) {

  static final String KEY_HEADER = "keyHeader";

  private static final Set<String> FIELDS = Set.of(KEY_HEADER);

  /** The settings of an empty config. */
  static final Lb4jPolicyConfig DEFAULT = new Lb4jPolicyConfig(Lb4jGrpc.DEFAULT_KEY_HEADER);

  /** Validates the settings. */
  Lb4jPolicyConfig {
    keyHeader = checkKeyHeader(keyHeader);
  }

  /**
   * Parses the policy's JSON object (as gRPC's parser gives it: maps, lists, strings, doubles,
   * booleans, nulls).
   *
   * @throws IllegalArgumentException naming the field, its value and what was expected
   */
  static Lb4jPolicyConfig parse(Map<String, ?> json) {
    for (String field : json.keySet()) {
      if (!FIELDS.contains(field)) {
        throw new IllegalArgumentException(
            Lb4jGrpc.POLICY_NAME
                + "."
                + field
                + ": unknown field (known fields: "
                + new TreeSet<>(FIELDS)
                + ")");
      }
    }
    Object header = json.get(KEY_HEADER);
    if (header == null) {
      return DEFAULT;
    }
    if (!(header instanceof String)) {
      throw new IllegalArgumentException(
          Lb4jGrpc.POLICY_NAME
              + "."
              + KEY_HEADER
              + ": "
              + header
              + " (expected: a string, a header name such as \""
              + Lb4jGrpc.DEFAULT_KEY_HEADER
              + "\", or \"\" for none)");
    }
    try {
      return new Lb4jPolicyConfig((String) header);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(Lb4jGrpc.POLICY_NAME + "." + e.getMessage(), e);
    }
  }

  /** Returns the key of the key header, or null when the config reads none. */
  Metadata.Key<String> headerKey() {
    return keyHeader.isEmpty()
        ? null
        : Metadata.Key.of(keyHeader, Metadata.ASCII_STRING_MARSHALLER);
  }

  /** Returns {@code name} in lower case, as HTTP/2 sends it, after checking it. */
  static String checkKeyHeader(String name) {
    if (name == null) {
      throw new IllegalArgumentException(
          KEY_HEADER + ": null (expected: a header name, or \"\" for none)");
    }
    name = name.toLowerCase(Locale.ROOT);
    String problem = null;
    for (int i = 0; i < name.length() && problem == null; i++) {
      char c = name.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')) {
        problem = "has character '" + c + "'";
      }
    }
    if (problem == null && name.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
      problem = "is a binary header";
    }
    if (problem == null && name.startsWith("grpc-")) {
      problem = "is reserved by gRPC";
    }
    if (problem != null) {
      throw new IllegalArgumentException(
          KEY_HEADER
              + ": '"
              + name
              + "' (expected: an ASCII header name of a-z 0-9 - _ ., not ending in -bin, not"
              + " grpc-*, or \"\" for none; it "
              + problem
              + ")");
    }
    return name;
  }
}

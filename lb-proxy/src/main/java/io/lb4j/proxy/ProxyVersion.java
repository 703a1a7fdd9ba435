package io.lb4j.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The proxy's version, {@code 0.1.0-SNAPSHOT}, from {@code io/lb4j/proxy/version.properties}, which
 * the build writes from the project's version (resource filtering), so that the jar, the shaded
 * {@code lb4j-proxy.jar} and the tests' classes directory all carry it.
 *
 * <p>Thread-safe.
 */
final class ProxyVersion {
  /** What {@link #get()} returns when the resource is missing or was not filtered. */
  static final String UNKNOWN = "unknown";

  private static final String VERSION = read();

  private ProxyVersion() {}

  /** Returns the version, or {@value #UNKNOWN} when the build did not write it. */
  static String get() {
    return VERSION;
  }

  private static String read() {
    try (InputStream in = ProxyVersion.class.getResourceAsStream("version.properties")) {
      if (in == null) {
        return UNKNOWN;
      }
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "").strip();
      return v.isEmpty() || v.contains("${") ? UNKNOWN : v;
    } catch (IOException e) {
      return UNKNOWN;
    }
  }
}

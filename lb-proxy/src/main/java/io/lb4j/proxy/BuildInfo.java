package io.lb4j.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * What was built and what runs it: the proxy's version, from {@code build.properties} next to this
 * class, which Maven filters at build time (so it is the same in the classes directory, the
 * module's jar and the shaded {@code lb4j-proxy.jar}), and the Java version of the running JVM.
 *
 * <p>Immutable and thread-safe.
 *
 * @param version the project version, such as {@code 0.1.0-SNAPSHOT}
 * @param javaVersion the running JVM's {@code java.version}, such as {@code 17.0.12}
 */
record BuildInfo(String version, String javaVersion) {

  /** The resource, next to this class, that Maven filters with the project version. */
  static final String RESOURCE = "build.properties";

  /** This build's information, read once. */
  static final BuildInfo CURRENT = read();

  /** Validates the values. */
  BuildInfo {
    if (version == null || version.isBlank() || version.contains("${")) {
      throw new IllegalArgumentException(
          "version: '" + version + "' (expected: the project version filtered in by Maven)");
    }
    if (javaVersion == null || javaVersion.isBlank()) {
      throw new IllegalArgumentException(
          "javaVersion: '" + javaVersion + "' (expected: the JVM's java.version)");
    }
  }

  private static BuildInfo read() {
    Properties p = new Properties();
    try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            RESOURCE
                + ": missing next to "
                + BuildInfo.class.getName()
                + " (expected: in the jar)");
      }
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
    return new BuildInfo(p.getProperty("version"), System.getProperty("java.version"));
  }
}

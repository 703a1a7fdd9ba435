package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lb4j.Durations;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The deployment files in {@code packaging/}: the systemd unit passes {@code systemd-analyze
 * verify}, is {@code Type=notify} with a watchdog ({@link SystemdNotifyTest} checks what the proxy
 * sends), reloads with SIGHUP, stops with SIGTERM and waits longer than the default drain; the
 * container file runs the JVM as PID 1 (exec form) as a non-root user with the jar the build makes.
 * No container engine runs on these machines, so the image itself is not built here.
 */
class PackagingTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path UNIT = ROOT.resolve("packaging/systemd/lb4j-proxy.service");
  private static final Path DOCKERFILE = ROOT.resolve("packaging/container/Dockerfile");

  private static List<String> lines(Path p) throws IOException {
    return Files.readAllLines(p, StandardCharsets.UTF_8);
  }

  private static String value(List<String> lines, String key) {
    return lines.stream()
        .filter(l -> l.startsWith(key + "="))
        .map(l -> l.substring(key.length() + 1))
        .findFirst()
        .orElseThrow(() -> new AssertionError(key + " missing"));
  }

  @Test
  void systemdUnit_verifies_notifies_reloadsWithHup_stopsAfterTheDrain() throws Exception {
    List<String> unit = lines(UNIT);
    assertEquals("/bin/kill -HUP $MAINPID", value(unit, "ExecReload"));
    assertEquals("SIGTERM", value(unit, "KillSignal"));
    Duration stop = Duration.ofSeconds(Long.parseLong(value(unit, "TimeoutStopSec")));
    Duration drain = Durations.parse("shutdown.drainTimeout", "30s"); // the documented default
    assertTrue(stop.compareTo(drain) > 0, "TimeoutStopSec " + stop + " must exceed the drain");
    assertTrue(value(unit, "ExecStart").contains("-jar /opt/lb4j/lb4j-proxy.jar --config "));
    assertTrue(value(unit, "ExecStartPre").contains("--check /etc/lb4j/lb.yaml"));
    // sd_notify: READY=1 from the JVM itself, which must be the main process (no shell between)
    assertEquals("notify", value(unit, "Type"));
    assertEquals("main", value(unit, "NotifyAccess"));
    assertTrue(value(unit, "ExecStart").startsWith("/usr/bin/java "), "the JVM is the main pid");
    // the GC issue 17 measured (docs/proxy.md, "JVM options"), not whatever the machine implies
    assertTrue(value(unit, "ExecStart").contains(" -XX:+UseG1GC "), value(unit, "ExecStart"));
    Duration watchdog = Duration.ofSeconds(Long.parseLong(value(unit, "WatchdogSec")));
    assertTrue(
        watchdog.compareTo(Duration.ofSeconds(10)) >= 0,
        "WatchdogSec " + watchdog + ": room for a GC pause or a reload's binds between pings");

    Path analyze = Path.of("/usr/bin/systemd-analyze");
    if (System.getenv("CI") == null) {
      assumeTrue(Files.isExecutable(analyze), "systemd-analyze is not installed");
    }
    Process p =
        new ProcessBuilder(analyze.toString(), "verify", UNIT.toString())
            .redirectErrorStream(true)
            .start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "systemd-analyze within 60 s");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.isBlank(), "no warnings: " + out);
  }

  @Test
  void containerFile_jvmIsPid1_nonRoot_theJarTheBuildMakes() throws Exception {
    List<String> file = lines(DOCKERFILE);
    String entry = file.stream().filter(l -> l.startsWith("ENTRYPOINT ")).findFirst().orElseThrow();
    assertTrue(entry.startsWith("ENTRYPOINT [\"java\""), "exec form, no shell: " + entry);
    assertTrue(entry.contains("\"-jar\", \"/opt/lb4j/lb4j-proxy.jar\""), entry);
    assertTrue(entry.contains("\"-XX:+UseG1GC\""), "the GC docs/proxy.md measured: " + entry);
    assertTrue(file.contains("USER lb4j"), "runs as the lb4j user");
    assertTrue(file.contains("STOPSIGNAL SIGTERM"));
    assertTrue(file.contains("COPY lb4j-proxy.jar /opt/lb4j/lb4j-proxy.jar"));
    assertTrue(
        Files.readString(ROOT.resolve("lb-proxy/pom.xml"))
            .contains("<outputFile>${project.build.directory}/lb4j-proxy.jar</outputFile>"),
        "the build context (lb-proxy/target) holds the jar the file copies");
  }
}

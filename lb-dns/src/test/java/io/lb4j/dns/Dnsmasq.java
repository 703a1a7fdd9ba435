package io.lb4j.dns;

import static org.junit.jupiter.api.Assertions.fail;

import io.lb4j.IpLiteral;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A throwaway dnsmasq (Debian's {@code dnsmasq-base}, {@code /usr/sbin/dnsmasq}, which {@code
 * .ci/run} installs) for integration tests: a child process on one loopback address and a port the
 * kernel offered, with a generated configuration file, a hosts file ({@code addn-hosts}) and a
 * query log, all in a temporary directory {@link #close()} deletes.
 *
 * <ul>
 *   <li>{@link #hosts(String)} rewrites the hosts file and sends {@code SIGHUP} to the process by
 *       its PID: dnsmasq re-reads {@code addn-hosts} (and clears its cache) without a restart. The
 *       call returns once the log says the file was read again.
 *   <li>{@link #restart(List)} is for what {@code SIGHUP} does not re-read — {@code srv-host},
 *       {@code local-ttl} and every other line of the configuration file: the process is stopped
 *       and a new one started on the same address and port.
 *   <li>{@link #queries(String, String)} counts the queries the log shows for a name and type
 *       ({@code log-queries}), an independent count of what a source asked.
 * </ul>
 *
 * <p>Every process is started with {@code --keep-in-foreground}, so the child the test holds is
 * dnsmasq itself and is stopped by its own PID ({@code SIGTERM}, then {@code SIGKILL} after a
 * bounded wait); a JVM shutdown hook kills what a crashed run would leave. Under root, {@code
 * --user=root} keeps dnsmasq from switching to a user that could not write the log in the temporary
 * directory.
 *
 * <p>Without the binary, {@link #start} fails when the environment variable {@code CI} is set and
 * skips the test, saying why, elsewhere.
 *
 * <p>Not thread-safe: one test thread drives it.
 */
final class Dnsmasq implements AutoCloseable {
  static final Path BINARY = Path.of("/usr/sbin/dnsmasq");

  private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);
  private static final int PORT_ATTEMPTS = 5;
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  private final InetAddress address;
  private final Path dir;
  private final Path conf;
  private final Path hostsFile;
  private final Path log;
  private final Thread killer;
  private int port;
  private List<String> lines;
  private Process process;

  private Dnsmasq(InetAddress address, Path dir) {
    this.address = address;
    this.dir = dir;
    this.conf = dir.resolve("dnsmasq.conf");
    this.hostsFile = dir.resolve("hosts");
    this.log = dir.resolve("queries.log");
    this.killer = new Thread(this::kill, "dnsmasq-killer");
    Runtime.getRuntime().addShutdownHook(killer);
  }

  /**
   * Starts dnsmasq on {@code address} (a loopback literal) with {@code conf} (configuration lines
   * besides the hosts file and the log) and {@code hosts} (hosts-file lines), and returns once it
   * answers queries.
   */
  static Dnsmasq start(String address, List<String> conf, String hosts) throws IOException {
    requireBinary();
    Dnsmasq d = new Dnsmasq(IpLiteral.parse(address), Files.createTempDirectory("lb4j-dnsmasq-"));
    try {
      Files.writeString(d.hostsFile, hosts);
      d.lines = List.copyOf(conf);
      IOException last = null;
      for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
        d.port = freePort(d.address);
        try {
          d.spawn();
          return d;
        } catch (IOException e) { // another process took the port in between: another one
          last = e;
        }
      }
      throw last;
    } catch (IOException | RuntimeException | Error e) {
      d.close();
      throw e;
    }
  }

  /** Whether {@code /usr/sbin/dnsmasq} is there; fails under CI, skips elsewhere, when not. */
  static void requireBinary() {
    if (Files.isExecutable(BINARY)) {
      return;
    }
    String why =
        BINARY + " is missing: install Debian's dnsmasq-base (apt-get install dnsmasq-base)";
    if (System.getenv("CI") != null) {
      fail(why + "; CI is set, so the test fails instead of skipping");
    }
    Assumptions.abort(why);
  }

  /** Returns the address and port it listens on. */
  InetSocketAddress address() {
    return new InetSocketAddress(address, port);
  }

  /** Returns {@code 127.0.53.1:40123}. */
  String server() {
    return IpLiteral.format(address, port);
  }

  /** Returns the PID of the running process. */
  long pid() {
    return process.pid();
  }

  /**
   * Rewrites the hosts file with {@code hosts} and makes dnsmasq re-read it ({@code SIGHUP} by
   * PID); returns once the log says it did.
   */
  void hosts(String hosts) throws IOException, InterruptedException {
    Path tmp = dir.resolve("hosts.tmp");
    Files.writeString(tmp, hosts);
    Files.move(tmp, hostsFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    long reads = count("read " + hostsFile);
    sighup();
    await("dnsmasq to re-read " + hostsFile, () -> count("read " + hostsFile) > reads);
  }

  /** Sends {@code SIGHUP} to the process by its PID, and nothing else. */
  void sighup() throws IOException, InterruptedException {
    // the shell's kill builtin: there is no kill(1) binary on a minimal Debian (procps)
    Process kill =
        new ProcessBuilder("/bin/sh", "-c", "kill -HUP " + process.pid())
            .redirectErrorStream(true)
            .start();
    if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill -HUP " + process.pid() + " failed");
    }
  }

  /**
   * Stops the process and starts a new one with configuration {@code conf} on the same address and
   * port: what {@code SIGHUP} does not re-read ({@code srv-host}, {@code local-ttl}).
   */
  void restart(List<String> conf) throws IOException {
    stop();
    lines = List.copyOf(conf);
    IOException last = null;
    for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      try {
        spawn();
        return;
      } catch (IOException e) { // the port is still held a moment after the old process exited
        last = e;
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }
    }
    throw last;
  }

  /** Returns how many {@code type} queries for {@code name} the log shows so far. */
  long queries(String name, String type) {
    return count("query[" + type + "] " + name + " from ");
  }

  /** Stops the process by its PID: SIGTERM, then SIGKILL after a bounded wait. */
  void stop() {
    Process p = process;
    process = null;
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroy();
    try {
      if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the process and deletes the directory. */
  @Override
  public void close() {
    try {
      stop();
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(killer);
      } catch (IllegalStateException e) {
        // the JVM is shutting down: the hook runs anyway
      }
      deleteTree(dir);
    }
  }

  private void kill() {
    Process p = process;
    if (p != null) {
      p.destroyForcibly();
    }
  }

  /** Writes the configuration, starts the process and waits until it answers, bounded. */
  private void spawn() throws IOException {
    List<String> all = new ArrayList<>(lines);
    all.add("addn-hosts=" + hostsFile);
    all.add("log-queries");
    all.add("log-facility=" + log);
    Files.write(conf, all, StandardCharsets.UTF_8);
    List<String> command =
        new ArrayList<>(
            List.of(
                BINARY.toString(),
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=" + conf,
                "--listen-address=" + IpLiteral.format(address),
                "--bind-interfaces",
                "--port=" + port,
                "--pid-file=" + dir.resolve("dnsmasq.pid")));
    if (isRoot()) {
      command.add("--user=root");
    }
    Path out = dir.resolve("dnsmasq.out");
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
            .start();
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    SimpleResolver probe = new SimpleResolver(new InetSocketAddress(address, port));
    probe.setTimeout(Duration.ofMillis(200));
    Message ready =
        Message.newQuery(Record.newRecord(Name.fromConstantString("ready.invalid."), Type.A, 1));
    while (true) {
      if (!p.isAlive()) {
        throw new IOException(
            "dnsmasq exited with " + p.exitValue() + ": " + Files.readString(out).strip());
      }
      try {
        probe.send(ready);
        process = p;
        return;
      } catch (IOException e) {
        // not listening yet
      }
      if (System.nanoTime() - deadline > 0) {
        p.destroyForcibly();
        fail("dnsmasq did not answer within " + START_TIMEOUT + ": " + Files.readString(out));
      }
      LockSupport.parkNanos(POLL_NANOS * 10);
    }
  }

  private long count(String needle) {
    if (!Files.exists(log)) {
      return 0;
    }
    try (Stream<String> lines = Files.lines(log, StandardCharsets.UTF_8)) {
      return lines.filter(l -> l.contains(needle)).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("waited " + START_TIMEOUT + " for " + what);
      }
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
      LockSupport.parkNanos(POLL_NANOS);
    }
  }

  private static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  /** A port free on {@code address} for both UDP and TCP, as the kernel offers it. */
  private static int freePort(InetAddress address) throws IOException {
    for (int attempt = 0; attempt < 20; attempt++) {
      int port;
      try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(address, 0))) {
        port = udp.getLocalPort();
        try (ServerSocket tcp = new ServerSocket()) {
          tcp.bind(new InetSocketAddress(address, port));
          return port;
        } catch (IOException e) {
          // TCP taken on this port: another
        }
      }
    }
    throw new IOException("no port free for both UDP and TCP on " + address);
  }

  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

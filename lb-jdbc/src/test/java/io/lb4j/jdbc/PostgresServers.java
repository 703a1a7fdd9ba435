package io.lb4j.jdbc;

import static org.junit.jupiter.api.Assertions.fail;

import io.lb4j.IpLiteral;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Throwaway PostgreSQL servers for integration tests, one per loopback address (127.0.0.2,
 * 127.0.0.3, ...), each with its own data directory, port and Unix socket directory, all under one
 * temporary directory that {@link #close()} deletes.
 *
 * <p>The binaries ({@code initdb}, {@code postgres}) are taken from the newest {@code
 * /usr/lib/postgresql/<version>/bin} (Debian's {@code postgresql} package, which {@code .ci/run}
 * installs) or from {@code PATH}. Without them the test fails when the environment variable {@code
 * CI} is set and is skipped, with the reason, elsewhere.
 *
 * <p>PostgreSQL refuses to run as root. Under root every command runs as the unprivileged {@code
 * postgres} user (or {@code nobody} when there is none) through {@code setpriv}, which executes the
 * command in place: the child process the test holds <em>is</em> the postmaster, so it is stopped
 * by its own PID. A cluster is initialised once ({@code initdb -A trust -U postgres}) and copied
 * for each server.
 *
 * <p>Each server listens on exactly its address ({@code listen_addresses}) and on a port the kernel
 * gave a socket bound to that address and closed at once; a server that loses the port to another
 * process in between is started again on a new one. Starting waits, bounded, until a JDBC
 * connection succeeds. {@link Server#stop()} is PostgreSQL's fast shutdown ({@code SIGINT}: open
 * sessions are ended; {@code SIGTERM}, Java's {@code destroy()}, is the smart shutdown that waits
 * for every client to leave) by the postmaster's PID with a bounded wait, then {@code SIGKILL}.
 * {@link #close()} stops every server that still runs; a JVM shutdown hook kills what a crashed
 * test run would otherwise leave behind.
 *
 * <p>Not thread-safe: one test thread drives it.
 */
final class PostgresServers implements AutoCloseable {

  /** How long a server may take to start: initdb and the first connection on a slow CI machine. */
  static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  /** How long a fast shutdown may take before the postmaster is killed. */
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  /** Ports tried per server when another process takes the one the kernel offered. */
  private static final int PORT_ATTEMPTS = 5;

  /** The pause between two readiness checks while a server starts. */
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(25);

  private static final String SUPERUSER = "postgres";

  private final Path bin;
  private final Path root;
  private final RunAs asUser;
  private final List<Server> servers = new ArrayList<>();
  private final Thread killer;

  private PostgresServers(Path bin, Path root, RunAs asUser) {
    this.bin = bin;
    this.root = root;
    this.asUser = asUser;
    this.killer = new Thread(this::killAll, "postgres-servers-killer");
    Runtime.getRuntime().addShutdownHook(killer);
  }

  /**
   * Starts one server on each of {@code addresses} (IP literals on loopback) and returns them once
   * each accepts JDBC connections.
   */
  static PostgresServers start(String... addresses) throws IOException, InterruptedException {
    Path bin = requireBinaries(findBinaries(), System.getenv("CI"));
    RunAs asUser = RunAs.forThisProcess();
    Path root = Files.createTempDirectory("lb4j-pg-");
    PostgresServers s = new PostgresServers(bin, root, asUser);
    try {
      asUser.chown(root);
      Path template = root.resolve("template");
      s.run(
          List.of(
              bin.resolve("initdb").toString(),
              "-D",
              template.toString(),
              "-A",
              "trust",
              "-U",
              SUPERUSER,
              "--no-locale",
              "-E",
              "UTF8",
              "--no-sync",
              "--no-instructions"),
          root.resolve("initdb.log"));
      for (String address : addresses) {
        Path dir = root.resolve("pg-" + address);
        s.run(List.of("cp", "-a", template.toString(), dir.toString()), root.resolve("cp.log"));
        s.servers.add(s.new Server(IpLiteral.parse(address), dir));
      }
      for (Server server : s.servers) {
        server.spawn();
      }
      for (Server server : s.servers) {
        server.awaitReady();
      }
      return s;
    } catch (IOException | InterruptedException | RuntimeException | Error e) {
      s.close();
      throw e;
    }
  }

  /** Returns the server on {@code address}. */
  Server server(String address) {
    for (Server s : servers) {
      if (s.address().equals(address)) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "address: " + address + " (expected: one of " + addresses() + ")");
  }

  /** Returns the servers in the order of their addresses. */
  List<Server> servers() {
    return List.copyOf(servers);
  }

  /** Starts again every server that was stopped, so each test begins with all of them up. */
  void startStopped() throws IOException, InterruptedException {
    for (Server s : servers) {
      if (!s.isRunning()) {
        s.start();
      }
    }
  }

  /** Stops every server by its PID and deletes the data directories. */
  @Override
  public void close() {
    try {
      for (Server s : servers) {
        s.stop();
      }
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(killer);
      } catch (IllegalStateException e) {
        // the JVM is shutting down: the hook runs anyway
      }
      deleteTree(root);
    }
  }

  private List<String> addresses() {
    List<String> out = new ArrayList<>();
    for (Server s : servers) {
      out.add(s.address());
    }
    return out;
  }

  private void killAll() {
    for (Server s : servers) {
      Process p = s.process;
      if (p != null) {
        p.destroyForcibly();
      }
    }
  }

  /** Runs {@code command} as the server user and fails with its output if it exits non-zero. */
  private void run(List<String> command, Path log) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(withUser(command))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!p.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      throw new IllegalStateException(
          command.get(0) + " did not finish within " + START_TIMEOUT + ": " + read(log));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(
          String.join(" ", command) + " exited with " + p.exitValue() + ": " + read(log));
    }
  }

  private List<String> withUser(List<String> command) {
    List<String> out = new ArrayList<>(asUser.prefix());
    out.addAll(command);
    return out;
  }

  /**
   * The unprivileged user commands run as when this JVM runs as root, or null fields when it does
   * not.
   */
  private record RunAs(String user, String group) {

    /**
     * Returns {@code postgres} (or {@code nobody}) when this JVM runs as root, since PostgreSQL
     * refuses root; else no user.
     */
    static RunAs forThisProcess() throws IOException, InterruptedException {
      if (!"0".equals(output("id", "-u"))) {
        return new RunAs(null, null);
      }
      String user = output("id", "-u", SUPERUSER) != null ? SUPERUSER : "nobody";
      return new RunAs(user, output("id", "-gn", user));
    }

    /**
     * Returns the command prefix: {@code setpriv}, which executes the command in place, so the
     * child's PID is the command's; nothing when no user is needed.
     */
    List<String> prefix() {
      if (user == null) {
        return List.of();
      }
      return List.of(
          "setpriv", "--reuid=" + user, "--regid=" + group, "--clear-groups", "--reset-env", "--");
    }

    /** Gives {@code dir} to the user. */
    void chown(Path dir) throws IOException {
      if (user == null) {
        return;
      }
      UserPrincipalLookupService lookup = dir.getFileSystem().getUserPrincipalLookupService();
      PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
      view.setOwner(lookup.lookupPrincipalByName(user));
      view.setGroup(lookup.lookupPrincipalByGroupName(group));
    }
  }

  /** One PostgreSQL server: its address, port, data directory and postmaster process. */
  final class Server {
    private final InetAddress address;
    private final Path dir;
    private int port;
    private Process process;

    private Server(InetAddress address, Path dir) {
      this.address = address;
      this.dir = dir;
    }

    /** Returns the IP literal the server listens on. */
    String address() {
      return address.getHostAddress();
    }

    /** Returns the server's TCP port. */
    int port() {
      return port;
    }

    /** Returns the postmaster's PID. */
    long pid() {
      return process.pid();
    }

    /** Returns whether the postmaster runs. */
    boolean isRunning() {
      return process != null && process.isAlive();
    }

    /** Returns a JDBC URL that reaches this server directly, without lb4j. */
    String directUrl() {
      return "jdbc:postgresql://" + address() + ":" + port + "/postgres";
    }

    /**
     * Stops the server by its PID: fast shutdown ({@code SIGINT}), a bounded wait, then {@code
     * SIGKILL}. Returns once the postmaster has exited, so its port refuses connections.
     */
    void stop() {
      Process p = process;
      if (p == null || !p.isAlive()) {
        return;
      }
      try {
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
        kill.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (!p.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
          p.destroyForcibly();
          if (!p.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            throw new IllegalStateException("postgres pid " + p.pid() + " survived SIGKILL");
          }
        }
      } catch (IOException e) {
        p.destroyForcibly();
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }

    /** Starts the stopped server again, on its port when that is still free. */
    void start() throws IOException, InterruptedException {
      if (isRunning()) {
        throw new IllegalStateException("postgres on " + address() + " runs (pid " + pid() + ")");
      }
      spawnOn(port);
      awaitReady();
    }

    private void spawn() throws IOException {
      spawnOn(freePort(address));
    }

    private void spawnOn(int port) throws IOException {
      this.port = port;
      List<String> command =
          List.of(
              bin.resolve("postgres").toString(),
              "-D",
              dir.toString(),
              "-p",
              Integer.toString(port),
              "-c",
              "listen_addresses=" + address(),
              "-c",
              "unix_socket_directories=" + dir,
              "-c",
              "fsync=off",
              "-c",
              "synchronous_commit=off",
              "-c",
              "full_page_writes=off",
              "-c",
              "max_connections=60",
              "-c",
              "shared_buffers=8MB");
      process =
          new ProcessBuilder(withUser(command))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()))
              .start();
    }

    /**
     * Waits, bounded, until a JDBC connection succeeds; starts again on another port when the
     * postmaster exited because another process took its port.
     */
    private void awaitReady() throws IOException, InterruptedException {
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      int attempts = 1;
      SQLException last = null;
      while (System.nanoTime() - deadline < 0) {
        if (!process.isAlive()) {
          String log = read(log());
          if (log.contains("could not bind") && attempts < PORT_ATTEMPTS) {
            attempts++;
            spawn();
            continue;
          }
          throw new IllegalStateException(
              "postgres on "
                  + address()
                  + ":"
                  + port
                  + " exited with "
                  + process.exitValue()
                  + ": "
                  + log);
        }
        try (Connection c = DriverManager.getConnection(directUrl(), directProperties())) {
          if (c.isValid(1)) {
            return;
          }
        } catch (SQLException e) {
          last = e; // not accepting yet: starting up
        }
        LockSupport.parkNanos(POLL_NANOS);
      }
      stop();
      throw new IllegalStateException(
          "postgres on "
              + address()
              + ":"
              + port
              + " did not accept within "
              + START_TIMEOUT
              + ": "
              + read(log()),
          last);
    }

    private Path log() {
      return root.resolve("postgres-" + address() + ".log");
    }

    @Override
    public String toString() {
      return "postgres("
          + address()
          + ":"
          + port
          + ", pid "
          + (process == null ? "-" : pid())
          + ")";
    }
  }

  /** Returns the properties of a direct connection: the superuser, a 1 s connect timeout. */
  static Properties directProperties() {
    Properties p = new Properties();
    p.setProperty("user", SUPERUSER);
    p.setProperty("connectTimeout", "1");
    return p;
  }

  /**
   * Returns the directory holding {@code initdb} and {@code postgres}: the newest {@code
   * /usr/lib/postgresql/<version>/bin}, else the first on {@code PATH}; null when there is none.
   */
  static Path findBinaries() throws IOException {
    Path debian = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(debian)) {
      try (Stream<Path> versions = Files.list(debian)) {
        Path newest =
            versions
                .map(v -> v.resolve("bin"))
                .filter(PostgresServers::hasBinaries)
                .max(Comparator.comparing(PostgresServers::majorVersion))
                .orElse(null);
        if (newest != null) {
          return newest;
        }
      }
    }
    String path = System.getenv("PATH");
    for (String dir : path == null ? new String[0] : path.split(":")) {
      if (!dir.isEmpty() && hasBinaries(Path.of(dir))) {
        return Path.of(dir);
      }
    }
    return null;
  }

  /**
   * Returns {@code bin}; without it, fails when {@code ci} is set ({@code .ci/run} installs
   * PostgreSQL, so CI never passes without the servers) and skips the test, with the reason,
   * elsewhere.
   */
  static Path requireBinaries(Path bin, String ci) {
    String missing =
        "PostgreSQL binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or on PATH"
            + " (expected: Debian's postgresql package; apt-get install -y postgresql; .ci/run"
            + " installs it)";
    if (bin == null && ci != null) {
      fail("CI is set and " + missing);
    }
    Assumptions.assumeTrue(bin != null, missing);
    return bin;
  }

  private static boolean hasBinaries(Path dir) {
    return Files.isExecutable(dir.resolve("initdb")) && Files.isExecutable(dir.resolve("postgres"));
  }

  private static int majorVersion(Path bin) {
    try {
      return Integer.parseInt(bin.getParent().getFileName().toString());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Runs a short command and returns its trimmed output, or null when it fails. */
  private static String output(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return null;
    }
    return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8).trim() : null;
  }

  static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "(no log)";
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("deleting " + dir, e);
    }
  }

  /** Returns a port the kernel offers on {@code address}, free when this returns. */
  static int freePort(InetAddress address) throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(address, 0));
      return s.getLocalPort();
    }
  }
}

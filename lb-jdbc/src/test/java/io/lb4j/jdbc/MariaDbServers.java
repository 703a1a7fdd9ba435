package io.lb4j.jdbc;

import static org.junit.jupiter.api.Assertions.fail;

import io.lb4j.IpLiteral;
import java.io.IOException;
import java.net.InetAddress;
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
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Assumptions;

/**
 * Throwaway MariaDB servers for integration tests, one per loopback address, as {@link
 * PostgresServers} starts PostgreSQL: Debian's {@code mariadb-server} ({@code .ci/run} installs it;
 * without it the test fails under {@code CI} and is skipped elsewhere), a data directory per server
 * from one {@code mariadb-install-db} copied, {@code mariadbd} listening on exactly its address
 * ({@code bind-address}) and a kernel-offered port, with {@code --skip-grant-tables} (any user, no
 * password: PostgreSQL's {@code trust}).
 *
 * <p>{@code mariadbd} is the child process itself: under root it drops to the {@code mysql} user on
 * its own ({@code --user}), so it is stopped by its PID: {@code SIGTERM} (its normal shutdown,
 * which ends open sessions), a bounded wait, then {@code SIGKILL}. {@link #close()} stops every
 * server and deletes the directories; a JVM shutdown hook kills what a crashed run would leave.
 *
 * <p>Not thread-safe: one test thread drives it.
 */
final class MariaDbServers implements AutoCloseable {

  /** How long a server may take to start. */
  static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  /** How long a shutdown may take before the server is killed. */
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  private static final int PORT_ATTEMPTS = 5;
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(25);

  private final Path installDb;
  private final Path mariadbd;
  private final Path root;
  private final String user;
  private final List<Server> servers = new ArrayList<>();
  private final Thread killer;

  private MariaDbServers(Path installDb, Path mariadbd, Path root, String user) {
    this.installDb = installDb;
    this.mariadbd = mariadbd;
    this.root = root;
    this.user = user;
    this.killer = new Thread(this::killAll, "mariadb-servers-killer");
    Runtime.getRuntime().addShutdownHook(killer);
  }

  /** Starts one server on each of {@code addresses} and returns once each accepts connections. */
  static MariaDbServers start(String... addresses) throws IOException, InterruptedException {
    Path[] bin = requireBinaries(findBinaries(), System.getenv("CI"));
    String user = "0".equals(output("id", "-u")) ? unprivilegedUser() : null;
    Path root = Files.createTempDirectory("lb4j-mariadb-");
    MariaDbServers s = new MariaDbServers(bin[0], bin[1], root, user);
    try {
      if (user != null) {
        UserPrincipalLookupService lookup = root.getFileSystem().getUserPrincipalLookupService();
        PosixFileAttributeView view =
            Files.getFileAttributeView(root, PosixFileAttributeView.class);
        view.setOwner(lookup.lookupPrincipalByName(user));
      }
      Path template = root.resolve("template");
      List<String> install = new ArrayList<>();
      install.add(bin[0].toString());
      install.add("--no-defaults");
      install.add("--datadir=" + template);
      if (user != null) {
        install.add("--user=" + user);
      }
      install.addAll(
          List.of(
              "--auth-root-authentication-method=normal",
              "--skip-test-db",
              "--innodb-log-file-size=4M",
              "--innodb-buffer-pool-size=16M"));
      run(install, root.resolve("install.log"));
      for (String address : addresses) {
        Path dir = root.resolve("mariadb-" + address);
        run(List.of("cp", "-a", template.toString(), dir.toString()), root.resolve("cp.log"));
        s.servers.add(s.new Server(IpLiteral.parse(address), dir));
      }
      for (Server server : s.servers) {
        server.spawnOn(PostgresServers.freePort(server.address));
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
    throw new IllegalArgumentException("address: " + address + " (expected: a server's address)");
  }

  /** Returns the servers in the order of their addresses. */
  List<Server> servers() {
    return List.copyOf(servers);
  }

  /** Starts again every server that was stopped. */
  void startStopped() throws IOException, InterruptedException {
    for (Server s : servers) {
      if (!s.isRunning()) {
        s.spawnOn(s.port);
        s.awaitReady();
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
      PostgresServers.deleteTree(root);
    }
  }

  private void killAll() {
    for (Server s : servers) {
      Process p = s.process;
      if (p != null) {
        p.destroyForcibly();
      }
    }
  }

  /** One MariaDB server: its address, port, data directory and process. */
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

    /** Returns whether the server runs. */
    boolean isRunning() {
      return process != null && process.isAlive();
    }

    /** Returns a JDBC URL that reaches this server directly, without lb4j. */
    String directUrl() {
      return "jdbc:mysql://" + address() + ":" + port + "/mysql";
    }

    /** Stops the server by its PID: SIGTERM, a bounded wait, then SIGKILL. */
    void stop() {
      Process p = process;
      if (p == null || !p.isAlive()) {
        return;
      }
      try {
        p.destroy();
        if (!p.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
          p.destroyForcibly();
          if (!p.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            throw new IllegalStateException("mariadbd pid " + p.pid() + " survived SIGKILL");
          }
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }

    private void spawnOn(int port) throws IOException {
      this.port = port;
      List<String> command = new ArrayList<>();
      command.add(mariadbd.toString());
      command.add("--no-defaults");
      command.add("--datadir=" + dir);
      if (user != null) {
        command.add("--user=" + user);
      }
      command.addAll(
          List.of(
              "--bind-address=" + address(),
              "--port=" + port,
              "--socket=" + dir.resolve("mariadb.sock"),
              "--pid-file=" + dir.resolve("mariadb.pid"),
              "--skip-grant-tables",
              "--skip-name-resolve",
              "--skip-log-bin",
              "--innodb-buffer-pool-size=16M",
              "--innodb-log-file-size=4M",
              "--max-connections=60"));
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()))
              .start();
    }

    /** Waits, bounded, until a JDBC connection succeeds; a new port when the old one was taken. */
    private void awaitReady() throws IOException, InterruptedException {
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      int attempts = 1;
      SQLException last = null;
      while (System.nanoTime() - deadline < 0) {
        if (!process.isAlive()) {
          String log = PostgresServers.read(log());
          if (log.contains("Address already in use") && attempts < PORT_ATTEMPTS) {
            attempts++;
            spawnOn(PostgresServers.freePort(address));
            continue;
          }
          throw new IllegalStateException(
              "mariadbd on "
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
          "mariadbd on "
              + address()
              + ":"
              + port
              + " did not accept within "
              + START_TIMEOUT
              + ": "
              + PostgresServers.read(log()),
          last);
    }

    private Path log() {
      return root.resolve("mariadb-" + address() + ".log");
    }

    @Override
    public String toString() {
      return "mariadb(" + address() + ":" + port + ")";
    }
  }

  /** Returns the properties of a direct connection: any user (grants are skipped), 1 s timeout. */
  static Properties directProperties() {
    Properties p = new Properties();
    p.setProperty("user", "root");
    p.setProperty("connectTimeout", "1000");
    p.setProperty("sslMode", "DISABLED");
    return p;
  }

  /**
   * Returns {@code mariadb-install-db} and {@code mariadbd} ({@code /usr/bin}, {@code /usr/sbin},
   * or {@code PATH}), or null when either is missing.
   */
  static Path[] findBinaries() {
    Path install = find("mariadb-install-db", "/usr/bin");
    Path server = find("mariadbd", "/usr/sbin");
    return install == null || server == null ? null : new Path[] {install, server};
  }

  private static Path find(String name, String usual) {
    List<String> dirs = new ArrayList<>(List.of(usual));
    String path = System.getenv("PATH");
    if (path != null) {
      dirs.addAll(List.of(path.split(":")));
    }
    return dirs.stream()
        .filter(d -> !d.isEmpty())
        .map(d -> Path.of(d, name))
        .filter(Files::isExecutable)
        .findFirst()
        .orElse(null);
  }

  /** Returns {@code bin}; without it, fails when {@code ci} is set and skips elsewhere. */
  static Path[] requireBinaries(Path[] bin, String ci) {
    String missing =
        "MariaDB binaries (mariadb-install-db, mariadbd) not found in /usr/bin, /usr/sbin or on PATH"
            + " (expected: Debian's mariadb-server package; apt-get install -y mariadb-server;"
            + " .ci/run installs it)";
    if (bin == null && ci != null) {
      fail("CI is set and " + missing);
    }
    Assumptions.assumeTrue(bin != null, missing);
    return bin;
  }

  private static String unprivilegedUser() throws IOException, InterruptedException {
    return output("id", "-u", "mysql") != null ? "mysql" : "nobody";
  }

  private static void run(List<String> command, Path log) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      throw new IllegalStateException(command.get(0) + " did not finish: " + Files.readString(log));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(
          String.join(" ", command)
              + " exited with "
              + p.exitValue()
              + ": "
              + Files.readString(log));
    }
  }

  private static String output(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return null;
    }
    return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8).trim() : null;
  }
}

package io.lb4j.proxy;

import io.lb4j.Durations;
import java.io.PrintWriter;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The standalone proxy's command line.
 *
 * <pre>
 * java -jar lb-proxy/target/lb4j-proxy.jar --config lb.yaml --log-level io.lb4j.access=WARN
 * java -jar lb-proxy/target/lb4j-proxy.jar --check lb.yaml
 * java -jar lb-proxy/target/lb4j-proxy.jar report [--admin 127.0.0.1:9901]
 * java -jar lb-proxy/target/lb4j-proxy.jar explain --src 127.0.0.9:40000 --dst 127.0.0.1:8080
 * java -jar lb-proxy/target/lb4j-proxy.jar reload [--admin 127.0.0.1:9901] [--token TOKEN]
 * </pre>
 *
 * <p>SIGTERM stops accepting, lets established connections finish up to {@code
 * shutdown.drainTimeout} and exits 0; SIGHUP re-reads the file (as {@code POST /reload} does). Exit
 * codes: 0 done; 1 a runtime failure (the admin endpoint of {@code report} or {@code explain}
 * cannot be reached); 2 a configuration the proxy cannot run: an invalid file or command line, or a
 * listener that cannot bind ({@code lb4j-proxy: rule 'web-http' cannot listen on 127.0.0.1:8080:
 * address already in use}).
 *
 * <p>{@code --check}, like {@code haproxy -c}, prints every error of the file at once, one a line
 * ({@code lb.yaml:12: backendPools[0].backends[1].port: 70000 (expected: 0-65535)}), then their
 * count ({@code 3 errors}), and exits 2; {@code --config} with an invalid file prints the same.
 *
 * <p>Under systemd ({@code NOTIFY_SOCKET} set, a {@code Type=notify} unit) the proxy notifies
 * {@code READY=1} once its listeners are bound and its signal handlers in place, {@code
 * RELOADING=1}/{@code READY=1} around reloads, {@code STOPPING=1} at SIGTERM, its status, and
 * {@code WATCHDOG=1} while its event loops answer ({@code SystemdNotifier}).
 *
 * <p>Not thread-safe; one per process.
 */
@Command(
    name = "lb4j-proxy",
    mixinStandardHelpOptions = true,
    versionProvider = ProxyMain.Version.class,
    description = "Runs lb4j's L4 proxy from a YAML configuration file.",
    subcommands = {AdminClient.Report.class, AdminClient.Explain.class, AdminClient.Reload.class})
public final class ProxyMain implements Callable<Integer> {
  private static final Logger logger = LoggerFactory.getLogger(ProxyMain.class);

  /** {@code --version}: the build's version and the JVM that runs it, from {@link BuildInfo}. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      BuildInfo b = BuildInfo.CURRENT;
      return new String[] {"lb4j proxy " + b.version() + " (Java " + b.javaVersion() + ")"};
    }
  }

  /** Exit code of a configuration the proxy cannot run: invalid, or a port in use. */
  public static final int CONFIG_ERROR = 2;

  /** Exit code of a runtime failure. */
  public static final int RUNTIME_ERROR = 1;

  @Option(names = "--config", paramLabel = "FILE", description = "Run the proxy from FILE.")
  private Path config;

  @Option(
      names = "--check",
      paramLabel = "FILE",
      description = "Check FILE, print every error in it with its line, and exit (2 on errors).")
  private Path check;

  @Option(
      names = "--log-level",
      paramLabel = "[LOGGER=]LEVEL",
      description =
          "Set the root logger's level (INFO), or one logger's (io.lb4j.access=WARN); repeatable,"
              + " wins over the file's logging: block. Levels: TRACE, DEBUG, INFO, WARN, ERROR,"
              + " OFF.")
  private List<String> logLevels = new ArrayList<>();

  @Spec private CommandSpec spec;

  private PrintWriter out;
  private PrintWriter err;

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (for tests and embedding). */
  public static int run(String... args) {
    return new CommandLine(new ProxyMain()).execute(args);
  }

  @Override
  public Integer call() {
    out = spec.commandLine().getOut();
    err = spec.commandLine().getErr();
    if ((config == null) == (check == null)) {
      err.println("lb4j-proxy: give exactly one of --config FILE or --check FILE");
      return CONFIG_ERROR;
    }
    LogLevels levels;
    try {
      levels = new LogLevels(LogLevels.parseFlags(logLevels));
    } catch (IllegalArgumentException e) {
      err.println("lb4j-proxy: " + e.getMessage());
      return CONFIG_ERROR;
    }
    levels.apply(LoggingOptions.DEFAULT); // the flags, before the file is read
    if (check != null) {
      try {
        ProxyConfig c = ConfigLoader.load(check);
        out.printf(
            "%s: OK (%d frontends, %d pools, %d probes, %d load-balancing rules,"
                + " %d inbound NAT rules)%n",
            check,
            c.loadBalancer().frontends().size(),
            c.loadBalancer().pools().size(),
            c.loadBalancer().probes().size(),
            c.loadBalancer().loadBalancingRules().size(),
            c.loadBalancer().inboundNatRules().size());
        return 0;
      } catch (IllegalArgumentException e) {
        printErrors(e);
        return CONFIG_ERROR;
      } finally {
        levels.restore();
      }
    }
    StandaloneProxy proxy;
    try {
      proxy = StandaloneProxy.start(config, System::getenv, levels); // NOTIFY_SOCKET: systemd
    } catch (IllegalArgumentException e) {
      levels.restore();
      printErrors(e);
      return CONFIG_ERROR;
    } catch (IllegalStateException e) { // a port in use, a transport that does not load
      levels.restore();
      err.println("lb4j-proxy: " + e.getMessage());
      return CONFIG_ERROR;
    }
    // handlers before the ready lines: a SIGHUP sent as soon as they are read must reload, not
    // end the JVM with the default action
    CountDownLatch stop = new CountDownLatch(1);
    boolean term = onSignal("TERM", stop::countDown) == SignalHandling.HANDLED;
    onSignal("INT", stop::countDown);
    SignalHandling hup = onSignal("HUP", () -> reloadOnSignal(proxy::reload));
    List<String> listening = new ArrayList<>();
    proxy
        .proxy()
        .listeners()
        .forEach((rule, at) -> listening.add(rule + " " + io.lb4j.IpLiteral.format(at)));
    int sockets = proxy.proxy().acceptorsPerListener();
    out.printf(
        "lb4j proxy listening: %s (%s transport, %s)%n",
        String.join(", ", listening),
        proxy.proxy().transport(),
        sockets == 1 ? "one socket per rule" : sockets + " sockets per rule with SO_REUSEPORT");
    if (proxy.adminAddress() != null) {
      out.printf(
          "admin: http://%s/ (page, /report, /diagnose, /explain, /metrics, /backends)%n",
          io.lb4j.IpLiteral.format(proxy.adminAddress()));
    }
    if (hup == SignalHandling.IGNORED_AT_LAUNCH) {
      logger.warn(
          "SIGHUP is ignored (started under nohup?), so SIGHUP will not reload {}: reload with POST"
              + " /reload on the admin endpoint{}, or start lb4j without nohup (setsid, systemd)",
          config,
          proxy.adminAddress() == null
              ? " (off: turn it on with admin: in the file)"
              : " (lb4j-proxy reload --admin "
                  + io.lb4j.IpLiteral.format(proxy.adminAddress())
                  + ", or curl -X POST -H 'Content-Type: application/json' http://"
                  + io.lb4j.IpLiteral.format(proxy.adminAddress())
                  + "/reload)");
    }
    if (!term) {
      Runtime.getRuntime().addShutdownHook(new Thread(proxy::shutdown, "lb4j-shutdown"));
    }
    proxy.notifyReady(); // systemd's READY=1: the handlers are in place, a reload finds them
    try {
      stop.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    proxy.stopAccepting(); // before saying so: a client that reads the line finds the door shut
    out.println(
        "lb4j proxy: stopping; established connections may finish for "
            + Durations.format(proxy.config().shutdownDrain()));
    int forced = proxy.shutdown();
    out.printf("lb4j proxy: stopped (%d connections closed at the deadline)%n", forced);
    return 0;
  }

  /**
   * Prints a file's refusal: every error on a line of its own, {@code lb.yaml:12: path: value
   * (expected: ...)}, then how many ({@code 3 errors}), as {@code --check} and a start do.
   */
  private void printErrors(IllegalArgumentException e) {
    err.println(e.getMessage());
    if (e instanceof ConfigException c) {
      err.println(c.count());
    }
  }

  /**
   * Reloads on SIGHUP: a refusal is logged in one line with the reason ({@link
   * StandaloneProxy#reload} does), and whatever else goes wrong is logged in one line too, never
   * thrown into the JVM's signal thread.
   */
  static void reloadOnSignal(Supplier<String> reload) {
    try {
      reload.get();
    } catch (Throwable e) { // an Error too: the signal thread must not die with a stack trace
      logger.error("reload on SIGHUP failed, the running configuration stays: {}", e.toString());
    }
  }

  /** What became of a signal handler. */
  enum SignalHandling {
    /** Installed: the signal runs the action. */
    HANDLED,
    /**
     * Not installed: the signal was ignored when the JVM started ({@code nohup} ignores SIGHUP),
     * and the JVM keeps an ignored SIGHUP, SIGINT or SIGTERM ignored instead of installing a
     * handler.
     */
    IGNORED_AT_LAUNCH,
    /** Not installed: {@code sun.misc.Signal} is missing or refused the signal. */
    UNAVAILABLE
  }

  /**
   * Handles the signal {@code name} with {@code action}, through {@code sun.misc.Signal} looked up
   * reflectively (it is unsupported API); says whether the handler is in place.
   */
  static SignalHandling onSignal(String name, Runnable action) {
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Object signal = signalClass.getConstructor(String.class).newInstance(name);
      Object handler =
          Proxy.newProxyInstance(
              handlerClass.getClassLoader(),
              new Class<?>[] {handlerClass},
              (p, method, args) -> {
                if (method.getName().equals("handle")) {
                  action.run();
                }
                return null;
              });
      Object previous =
          signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
      // the JVM answers SIG_IGN, and installs nothing, for a signal ignored from launch
      return previous == handlerClass.getField("SIG_IGN").get(null)
          ? SignalHandling.IGNORED_AT_LAUNCH
          : SignalHandling.HANDLED;
    } catch (ReflectiveOperationException | RuntimeException e) {
      logger.debug("no handler for SIG{}: {}", name, e.toString());
      return SignalHandling.UNAVAILABLE;
    }
  }
}

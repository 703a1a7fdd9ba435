package io.lb4j.proxy;

import io.lb4j.LoadBalancerConfig;
import io.lb4j.Rule;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.netty.NettyL4Proxy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone proxy: a balancer, a {@link NettyL4Proxy}, the membership sources of its pools
 * ({@code discovery:}, see {@link PoolSources}) and the admin endpoint, run from a YAML file and
 * reloaded from it.
 *
 * <pre>{@code
 * try (StandaloneProxy p = StandaloneProxy.start(Path.of("lb.yaml"))) {
 *   System.out.println("admin on " + p.adminAddress());
 * }
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class StandaloneProxy implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(StandaloneProxy.class);

  private final Path file;
  private final L4LoadBalancer lb;
  private final NettyL4Proxy proxy;
  private final AdminServer admin;
  private final PoolSources sources;
  private final SystemdNotifier systemd;
  private final Object lock = new Object();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final Reloads reloads = new Reloads(InstantSource.system());
  private final ProxyMetrics metrics = new ProxyMetrics(reloads);
  private final LogLevels levels;
  private ProxyConfig config;

  private StandaloneProxy(
      Path file, ProxyConfig config, Function<String, String> environment, LogLevels levels) {
    this.file = file;
    this.config = config;
    this.levels = levels;
    requireListenable(config.loadBalancer(), Set.of());

    this.lb =
        L4LoadBalancer.builder()
            .config(config.loadBalancer())
            .seed(config.seed())
            .listener(metrics.listener()) // before the first probe, so that it counts
            .build();
    this.sources = new PoolSources(lb);
    NettyL4Proxy p;
    PoolSources.Plan plan;
    try {
      NettyL4Proxy.Builder b =
          NettyL4Proxy.builder()
              .loadBalancer(lb)
              .ioThreads(config.ioThreads())
              .transport(config.transport())
              .reusePort(config.reusePort());
      config.frontendOptions().forEach(b::frontendOptions);
      config.ruleOptions().forEach(b::ruleOptions);
      p = b.build();
    } catch (RuntimeException | LinkageError e) {
      lb.close();
      throw e;
    }
    try {
      plan = sources.prepare(config.discovery()); // a provider's refusal: nothing started
    } catch (RuntimeException | LinkageError e) {
      p.close();
      lb.close();
      throw e;
    }
    try {
      sources.commit(plan, () -> {}); // before the listeners: the first answers may come first
      p.start();
      this.admin =
          config.admin() == null
              ? null
              : new AdminServer(p, this::reload, draining::get, config.admin(), metrics);
    } catch (Exception e) { // Netty rethrows a failed bind's IOException unchecked
      sources.close();
      p.close();
      lb.close();
      throw cannotListen(e);
    }
    this.proxy = p;
    this.systemd = SystemdNotifier.fromEnvironment(environment, p, draining::get);
  }

  /**
   * Reads {@code file}, starts proxying and the admin endpoint; notifies no service manager. The
   * levels of the file's {@code logging:} block are set first (Logback only), set again at each
   * reload, and given back at close.
   *
   * @throws IllegalArgumentException if the file is invalid (a {@link ConfigException} naming, for
   *     every error, file, line, path, value and expectation)
   * @throws IllegalStateException if a listener cannot bind, in one line naming the rule (or the
   *     admin endpoint) and the address: {@code rule 'web-http' cannot listen on 127.0.0.1:8080:
   *     address already in use}
   */
  public static StandaloneProxy start(Path file) {
    return start(file, name -> null);
  }

  /**
   * Reads {@code file}, starts proxying and the admin endpoint, and, when {@code environment} (such
   * as {@code System::getenv}) names systemd's {@code NOTIFY_SOCKET}, notifies the service manager
   * ({@code Type=notify}): {@code READY=1} at {@link #notifyReady}, {@code RELOADING=1} and {@code
   * READY=1} around each reload, {@code STOPPING=1} when the drain starts, {@code STATUS=} lines,
   * and {@code WATCHDOG=1} every {@code WATCHDOG_USEC}/2 while the event loops answer.
   *
   * @param file the YAML configuration
   * @param environment the process environment, by variable name (null for an unset one)
   * @return the running proxy
   * @throws IllegalArgumentException if the file is invalid (a {@link ConfigException} with every
   *     error)
   * @throws IllegalStateException if a listener cannot bind
   */
  public static StandaloneProxy start(Path file, Function<String, String> environment) {
    return start(file, environment, new LogLevels(java.util.Map.of()));
  }

  /**
   * Reads {@code file} and starts, with the file's {@code logging:} levels and then {@code levels}'
   * flags set first; a failure to start gives the loggers their levels back.
   */
  static StandaloneProxy start(Path file, Function<String, String> environment, LogLevels levels) {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(environment, "environment");
    ProxyConfig config = ConfigLoader.load(file);
    levels.apply(config.logging());
    try {
      return new StandaloneProxy(file, config, environment, levels);
    } catch (RuntimeException | Error e) {
      levels.restore();
      throw e;
    }
  }

  /**
   * Tells the service manager, when one asked ({@code NOTIFY_SOCKET}), that the proxy has started:
   * {@code READY=1} and its status, then the status and watchdog timers. The command line calls it
   * once its signal handlers are in place, so that a reload right after start finds them; without a
   * service manager it does nothing. Once; later calls do nothing.
   */
  public void notifyReady() {
    systemd.ready();
  }

  /** Returns what tells systemd how the proxy is (a no-op one without NOTIFY_SOCKET). */
  SystemdNotifier systemd() {
    return systemd;
  }

  /**
   * Re-reads the file and applies it without dropping established connections; returns null on
   * success, or why nothing changed. A pool whose {@code discovery:} block is unchanged keeps its
   * running source and the members it gave; a changed block replaces the source, a removed one
   * closes it (see {@link PoolSources}). Never throws: every failure (an invalid file, a port in
   * use, anything else) leaves the running configuration in force and is returned, and logged in
   * one line.
   */
  public String reload() {
    synchronized (lock) {
      if (draining.get()) { // a reload would bind listeners again while connections drain
        String why = "shutting down: the proxy is draining, reload refused";
        logger.warn(why);
        reloads.record(Reloads.Result.REFUSED);
        return why;
      }
      systemd.reloading();
      ProxyConfig next;
      boolean applying = false; // past the checks: a failure now is FAILED, not REFUSED
      try {
        next = ConfigLoader.load(file);
        Set<InetSocketAddress> ours = new HashSet<>(proxy.listeners().values());
        requireListenable(next.loadBalancer(), ours);
        PoolSources.Plan plan = sources.prepare(next.discovery());
        boolean reloaded = false;
        applying = true;
        try {
          proxy.reload(next.loadBalancer(), next.frontendOptions(), next.ruleOptions());
          reloaded = true;
        } catch (Exception e) { // Netty rethrows a failed bind's IOException unchecked
          throw cannotListen(e);
        } finally {
          if (!reloaded) {
            sources.abandon(plan);
          }
        }
        LoadBalancerConfig applied = next.loadBalancer();
        sources.commit(plan, () -> lb.reconfigure(applied));
        levels.apply(next.logging()); // levels a reload removed go back to Logback's
      } catch (Exception | LinkageError | StackOverflowError e) {
        // anything a reload throws, checked (rethrown undeclared) or not, is an answer: the old
        // configuration stays in force and the caller learns why
        String why = e.getMessage() == null ? e.toString() : e.getMessage();
        logRefusal(e, why);
        systemd.reloaded(why);
        reloads.record(applying ? Reloads.Result.FAILED : Reloads.Result.REFUSED);
        return why;
      }
      if (!Objects.equals(next.admin(), config.admin())
          || next.ioThreads() != config.ioThreads()
          || next.transport() != config.transport()
          || next.reusePort() != config.reusePort()
          || next.seed() != config.seed()) {
        logger.warn(
            "reload: admin and proxy settings (admin, ioThreads, transport, reusePort, seed) take"
                + " effect at the next start");
      }
      config = next;
      reloads.record(Reloads.Result.OK);
      logger.info("reloaded {}", file);
      systemd.reloaded(null);
      return null;
    }
  }

  /**
   * Logs a refused reload: one line with the reason, or, for a file with several errors, one line
   * per error, each whole ({@code reload refused, the running configuration stays (error 2 of 3):
   * lb.yaml:12: ...}), so that grep finds every error with the file and line it names.
   */
  private static void logRefusal(Throwable e, String why) {
    List<String> errors = e instanceof ConfigException c ? c.errors() : List.of(why);
    if (errors.size() == 1) {
      logger.warn("reload refused, the running configuration stays: {}", errors.get(0));
      return;
    }
    for (int i = 0; i < errors.size(); i++) {
      logger.warn(
          "reload refused, the running configuration stays (error {} of {}): {}",
          i + 1,
          errors.size(),
          errors.get(i));
    }
  }

  /**
   * Refuses, before anything changes, a configuration with a rule whose address is taken: binds,
   * and at once closes, the address of every rule that is not already listening on one of {@code
   * ours}, as the proxy's listeners do ({@code SO_REUSEADDR}).
   *
   * @throws IllegalStateException naming the first such rule, its address and why, such as {@code
   *     rule 'web-http' cannot listen on 127.0.0.1:8080: address already in use}
   */
  static void requireListenable(LoadBalancerConfig config, Set<InetSocketAddress> ours) {
    for (Rule r : config.rules()) {
      InetSocketAddress a =
          new InetSocketAddress(config.frontend(r.frontend()).address(), r.frontendPort());
      if (ours.contains(a)) {
        continue;
      }
      try (ServerSocket probe = new ServerSocket()) {
        probe.setReuseAddress(true);
        probe.bind(a);
      } catch (IOException busy) {
        throw new IllegalStateException(
            "rule '"
                + r.name()
                + "' cannot listen on "
                + io.lb4j.IpLiteral.format(a)
                + ": "
                + reason(busy),
            busy);
      }
    }
  }

  /**
   * Returns the proxy's failure to start or reload as an unchecked exception with a one-line
   * message. Netty rethrows a failed bind's {@code IOException} unchecked and unwrapped ({@code
   * bind(..) failed with error(-98): Address already in use}); {@link #requireListenable} names the
   * rule beforehand, so this one is left for a port taken between that check and the bind.
   */
  static RuntimeException cannotListen(Exception e) {
    if (e instanceof RuntimeException r && !(e.getCause() instanceof IOException)) {
      return r;
    }
    return new IllegalStateException("a rule cannot listen: " + reason(e), e);
  }

  /** Returns why a bind failed, as a message's tail: {@code address already in use}. */
  static String reason(Throwable e) {
    Throwable t = e.getCause() instanceof IOException ? e.getCause() : e;
    String m = String.valueOf(t.getMessage());
    int colon = m.lastIndexOf("): "); // Netty's native "bind(..) failed with error(-98): ..."
    if (colon >= 0) {
      m = m.substring(colon + 3);
    }
    return m.isEmpty() ? t.toString() : Character.toLowerCase(m.charAt(0)) + m.substring(1);
  }

  /** Returns the admin endpoint's address, or null when it is off. */
  public InetSocketAddress adminAddress() {
    return admin == null ? null : admin.address();
  }

  /** Returns the proxy. */
  public NettyL4Proxy proxy() {
    return proxy;
  }

  /** Returns the configuration in force. */
  public ProxyConfig config() {
    synchronized (lock) {
      return config;
    }
  }

  /**
   * Starts draining: {@code GET /ready} answers 503 from now on, reloads are refused, and the
   * listeners stop accepting new connections; established connections go on. The admin endpoint
   * keeps answering until {@link #shutdown} has drained, so that a readiness probe sees the 503.
   */
  public void stopAccepting() {
    draining.set(true); // before the listeners close: readiness says so first
    systemd.stopping();
    synchronized (lock) { // a reload under way finishes first, then finds the flag
      proxy.stopAccepting();
    }
  }

  /** Whether the proxy is draining at shutdown ({@link #stopAccepting} or {@link #shutdown}). */
  public boolean draining() {
    return draining.get();
  }

  /**
   * Stops accepting, lets established connections finish up to the configured drain timeout, then
   * closes everything; returns the number of connections closed by force. While it drains, {@code
   * GET /ready} answers 503 and the rest of the admin endpoint answers as before; the endpoint
   * closes once the drain is over.
   */
  public int shutdown() {
    stopAccepting();
    sources.close(); // no membership changes while established connections finish
    int forced = proxy.shutdown(config().shutdownDrain());
    if (admin != null) {
      admin.close();
    }
    lb.close();
    systemd.close();
    levels.restore();
    return forced;
  }

  /** Closes at once. */
  @Override
  public void close() {
    draining.set(true);
    if (admin != null) {
      admin.close();
    }
    sources.close();
    proxy.close();
    lb.close();
    systemd.close();
    levels.restore();
  }
}

package io.lb4j.proxy;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Durations;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.netty.NettyL4Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the standalone proxy tells systemd when it runs as a {@code Type=notify} service ({@code
 * sd_notify(3)}, through {@link SdNotifySocket}), and nothing when {@code NOTIFY_SOCKET} is not
 * set:
 *
 * <ul>
 *   <li>{@code READY=1} once the listeners are bound and the signal handlers are in place ({@link
 *       #ready}), so a {@code systemctl reload} right after start reloads instead of ending the
 *       JVM;
 *   <li>{@code RELOADING=1} with {@code MONOTONIC_USEC} (the {@code CLOCK_MONOTONIC} time systemd
 *       253 and later want for {@code Type=notify-reload}; HotSpot's {@link System#nanoTime} on
 *       Linux is that clock) when a reload starts, and {@code READY=1} when it ends, refused or
 *       not: a refused reload leaves the running configuration serving, and its first error goes in
 *       {@code STATUS};
 *   <li>{@code STOPPING=1} when the drain starts (SIGTERM);
 *   <li>{@code STATUS=2 rules, 5 of 6 backends in rotation} at start and every {@value
 *       #STATUS_SECONDS} s when it changed, which {@code systemctl status} shows;
 *   <li>{@code WATCHDOG=1} every {@code WATCHDOG_USEC}/2 (systemd's {@code WatchdogSec}, as {@code
 *       sd_watchdog_enabled(3)} advises) — but only once every event loop of the proxy has run a
 *       task submitted at that tick ({@link NettyL4Proxy#eventLoopsAnswer}). A stuck loop stops the
 *       pings, and systemd restarts the proxy after {@code WatchdogSec}; the proxy logs once that a
 *       loop does not answer. {@code WATCHDOG_PID}, when set, must be this process.
 * </ul>
 *
 * <p>A message that cannot be sent is logged (a warning the first time, then at debug level until
 * one goes through) and does not stop the proxy.
 *
 * <p>Thread-safe.
 */
final class SystemdNotifier implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(SystemdNotifier.class);

  /** How often {@code STATUS} is refreshed when it changed: health changes within seconds. */
  static final int STATUS_SECONDS = 5;

  /** How long {@link #close} waits for {@code STOPPING=1} to be sent. */
  private static final Duration LAST_SEND = Duration.ofSeconds(1);

  /** Does nothing: no service manager asked. */
  static final SystemdNotifier NONE = new SystemdNotifier(null, null, null, () -> false);

  private final SdNotifySocket socket;
  private final Duration watchdog;
  private final NettyL4Proxy proxy;
  private final BooleanSupplier draining;
  private final LongSupplier monotonicNanos = System::nanoTime;
  private final Object lock = new Object();
  private final List<ScheduledFuture<?>> timers = new ArrayList<>(); // guarded by lock
  private boolean started; // guarded by lock
  private CompletableFuture<Void> heartbeat; // guarded by lock
  private long heartbeatAsked; // guarded by lock: System.nanoTime() when heartbeat was asked
  private boolean stuckLogged; // guarded by lock
  private String lastStatus; // guarded by lock
  private CompletableFuture<Void> stopping; // guarded by lock
  private volatile boolean failing;

  private SystemdNotifier(
      SdNotifySocket socket, Duration watchdog, NettyL4Proxy proxy, BooleanSupplier draining) {
    this.socket = socket;
    this.watchdog = watchdog;
    this.proxy = proxy;
    this.draining = draining;
  }

  /**
   * Returns the notifier {@code environment} asks for ({@code System::getenv} in the command line):
   * {@link #NONE} without {@code NOTIFY_SOCKET}; a watchdog when {@code WATCHDOG_USEC} is set (and
   * {@code WATCHDOG_PID}, when set, is this process). A value that cannot be used is logged and
   * left out: a {@code Type=notify} unit then fails at its start timeout, and the log says why.
   */
  static SystemdNotifier fromEnvironment(
      Function<String, String> environment, NettyL4Proxy proxy, BooleanSupplier draining) {
    String notifySocket = environment.apply("NOTIFY_SOCKET");
    if (notifySocket == null || notifySocket.isEmpty()) {
      return NONE;
    }
    SdNotifySocket socket;
    try {
      socket = SdNotifySocket.open(notifySocket);
    } catch (IllegalArgumentException | IllegalStateException e) {
      logger.error(
          "cannot notify systemd, so a Type=notify unit will time out waiting for READY=1: {}",
          e.getMessage());
      return NONE;
    }
    return new SystemdNotifier(socket, watchdog(environment), proxy, draining);
  }

  /**
   * Returns {@code WATCHDOG_USEC} as a duration, or null when there is no watchdog for this
   * process.
   */
  private static Duration watchdog(Function<String, String> environment) {
    String usec = environment.apply("WATCHDOG_USEC");
    if (usec == null || usec.isEmpty()) {
      return null;
    }
    String pid = environment.apply("WATCHDOG_PID");
    long self = ProcessHandle.current().pid();
    if (pid != null && !pid.isEmpty() && !pid.equals(Long.toString(self))) {
      logger.debug("WATCHDOG_PID {} is not this process ({}): no watchdog pings", pid, self);
      return null;
    }
    long micros;
    try {
      micros = Long.parseLong(usec);
    } catch (NumberFormatException e) {
      micros = 0;
    }
    if (micros <= 0) {
      logger.error(
          "WATCHDOG_USEC: '{}' (expected: a positive number of microseconds): no watchdog pings,"
              + " so systemd will restart the proxy after WatchdogSec",
          usec);
      return null;
    }
    return Duration.ofNanos(TimeUnit.MICROSECONDS.toNanos(micros));
  }

  /** Returns whether a service manager listens. */
  boolean enabled() {
    return socket != null;
  }

  /** Returns the watchdog timeout ({@code WatchdogSec}), or null when there is none. */
  Duration watchdog() {
    return watchdog;
  }

  /**
   * Sends {@code READY=1} and the status, and starts the status and watchdog timers. Once; later
   * calls do nothing.
   */
  void ready() {
    if (socket == null) {
      return;
    }
    synchronized (lock) {
      if (started) {
        return;
      }
      started = true;
      lastStatus = status();
      send("READY=1\nSTATUS=" + lastStatus);
      timers.add(socket.every(Duration.ofSeconds(STATUS_SECONDS), this::refreshStatus));
      if (watchdog != null) {
        timers.add(socket.every(watchdog.dividedBy(2), this::watchdogTick));
      }
    }
  }

  /** Sends {@code RELOADING=1} with {@code MONOTONIC_USEC}: a reload starts. */
  void reloading() {
    if (socket == null) {
      return;
    }
    long micros = TimeUnit.NANOSECONDS.toMicros(monotonicNanos.getAsLong());
    send("RELOADING=1\nMONOTONIC_USEC=" + micros + "\nSTATUS=reloading");
  }

  /**
   * Sends {@code READY=1}: the reload ended, applied when {@code refusal} is null, else refused
   * with it (its first line goes in {@code STATUS}).
   */
  void reloaded(String refusal) {
    if (socket == null) {
      return;
    }
    String status;
    synchronized (lock) {
      lastStatus = status();
      status = lastStatus;
    }
    if (refusal != null) {
      String[] lines = refusal.split("\n", -1);
      status =
          "reload refused, the running configuration stays: "
              + lines[0]
              + (lines.length > 1 ? " (and " + (lines.length - 1) + " more)" : "")
              + "; "
              + status;
    }
    send("READY=1\nSTATUS=" + ConfigErrors.oneLine(status));
  }

  /** Sends {@code STOPPING=1}: the drain starts. Once. */
  void stopping() {
    if (socket == null) {
      return;
    }
    synchronized (lock) {
      if (stopping == null) {
        stopping = send("STOPPING=1\nSTATUS=" + status());
      }
    }
  }

  /**
   * A watchdog tick: pings {@code WATCHDOG=1} once every event loop answers a task submitted now;
   * while the previous tick's task still waits for a loop, pings nothing (and logs that once).
   */
  void watchdogTick() {
    synchronized (lock) {
      if (heartbeat != null && !heartbeat.isDone()) {
        if (!stuckLogged) {
          stuckLogged = true;
          long waited = monotonicNanos.getAsLong() - heartbeatAsked;
          logger.error(
              "an event loop of the proxy has not run a task submitted {} ago: no watchdog ping,"
                  + " so systemd restarts the proxy when WatchdogSec ({}) passes without one",
              Durations.format(Duration.ofSeconds(TimeUnit.NANOSECONDS.toSeconds(waited))),
              watchdog == null ? "not set" : Durations.format(watchdog));
        }
        return;
      }
      stuckLogged = false;
      heartbeatAsked = monotonicNanos.getAsLong();
      // pending is the loops' answer alone, not the send after it: a tick that follows a ping
      // must ask again even if the ping's send has not returned yet
      heartbeat = proxy.eventLoopsAnswer();
      heartbeat
          .thenRun(() -> send("WATCHDOG=1"))
          .exceptionally(
              stopped -> {
                logger.debug("no watchdog ping, the event loops are shut down: {}", stopped);
                return null;
              });
    }
  }

  /** Sends {@code STATUS} when it changed since the last one sent. */
  void refreshStatus() {
    String status;
    synchronized (lock) {
      status = status();
      if (status.equals(lastStatus)) {
        return;
      }
      lastStatus = status;
    }
    send("STATUS=" + status);
  }

  /**
   * Returns the proxy's state in a line: {@code 2 rules, 5 of 6 backends in rotation; none for rule
   * api}, backends counted per load-balancing rule (a pool that two rules share counts twice), led
   * by {@code draining, established connections finish; } at shutdown.
   */
  String status() {
    LoadBalancer lb = proxy.loadBalancer();
    LoadBalancerConfig config = lb.config();
    int rules = config.rules().size();
    int backends = 0;
    int inRotation = 0;
    List<String> none = new ArrayList<>();
    for (LoadBalancingRule r : config.loadBalancingRules()) {
      BackendPool pool = config.pool(r.backendPool());
      int in = 0;
      for (Backend b : pool.backends()) {
        backends++;
        try {
          in += lb.health(r.name(), b.id()).inRotation() ? 1 : 0;
        } catch (IllegalArgumentException gone) { // removed by a reload meanwhile
          backends--;
        }
      }
      inRotation += in;
      if (in == 0) {
        none.add(r.name());
      }
    }
    String status =
        rules
            + (rules == 1 ? " rule, " : " rules, ")
            + inRotation
            + " of "
            + backends
            + " backends in rotation"
            + (none.isEmpty() ? "" : "; none for rule " + String.join(", ", none));
    return draining.getAsBoolean() ? "draining, established connections finish; " + status : status;
  }

  /** Sends {@code state} as it is (the tests send markers with it). */
  CompletableFuture<Void> send(String state) {
    logger.debug("sd_notify {}: {}", socket, state.replace('\n', ' '));
    return socket
        .send(state)
        .whenComplete(
            (ok, failed) -> {
              if (failed == null) {
                failing = false;
              } else if (!failing) {
                failing = true;
                logger.warn(
                    "cannot notify systemd at {} ({}): {}",
                    socket,
                    state.substring(0, state.indexOf('=')),
                    failed.toString());
              } else {
                logger.debug("cannot notify systemd at {}: {}", socket, failed.toString());
              }
            });
  }

  /** Stops the timers and, after {@code STOPPING=1} went out (1 s at most), the socket. */
  @Override
  public void close() {
    if (socket == null) {
      return;
    }
    CompletableFuture<Void> last;
    synchronized (lock) {
      for (ScheduledFuture<?> t : timers) {
        t.cancel(false);
      }
      timers.clear();
      last = stopping;
    }
    if (last != null) {
      try {
        last.get(LAST_SEND.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        logger.debug("STOPPING=1 not confirmed: {}", e.toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    socket.close();
  }
}

package io.lb4j.dns;

import io.lb4j.Durations;
import io.lb4j.IpLiteral;
import io.lb4j.discovery.MembershipSource;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Name;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.TextParseException;

/**
 * A pool's members from DNS, as Envoy's {@code STRICT_DNS} cluster and HAProxy's {@code resolvers}
 * keep them: every address of a name ({@link DnsRecordType#A}, {@link DnsRecordType#AAAA}, {@link
 * DnsRecordType#A_AAAA}) at a configured port, or every target of its SRV records ({@link
 * DnsRecordType#SRV}) at the records' ports and weights, lowest priority tier only.
 *
 * <pre>{@code
 * MembershipSource web = DnsMembershipSource.builder("_http._tcp.web.example")
 *     .record(DnsRecordType.SRV)
 *     .server("192.0.2.53:53")
 *     .build();
 * balancer.attach("web", web, DiscoveryOptions.DEFAULT);
 * }</pre>
 *
 * <p><b>Each answer is complete.</b> Every resolution publishes the whole member list ({@link
 * Listener#onMembers}); member ids are {@code ip:port} ({@link io.lb4j.discovery.Member#idOf}), so
 * every lb4j instance that resolves the same records builds the same tables. A resolution that does
 * not give a complete answer — NXDOMAIN, SERVFAIL or any other error code, no response within the
 * timeout, NOERROR without records (NODATA), SRV targets none of which has an address — is a
 * failure ({@link Listener#onFailure}) naming the name, the record type, the server and the code;
 * the balancer keeps the last good members (envoy#2691 dropped every host on one NXDOMAIN). Only
 * SRV records whose one target is {@code .} answer an explicitly empty list, which the balancer
 * applies only under its guard.
 *
 * <p><b>When it resolves.</b> Once at {@link #start}, then at the answer's TTL (the smallest TTL of
 * the records used) clamped to {@code [ttlFloor, ttlCap]} — defaults 1 s and 5 min — so a TTL of 0
 * asks once a second, not in a loop, and a day-long TTL is still checked every five minutes. After
 * a failure it asks again after {@code retryBase} (1 s), doubling with each failure in a row up to
 * {@code retryMax} (30 s), never sooner than the floor; the first answer resets the back-off.
 *
 * <p><b>Whom it asks.</b> The resolver given to {@link Builder#server}, with one query per record
 * type (UDP, TCP when the response is truncated, EDNS0), each waiting at most {@code timeout} (2
 * s). It keeps no cache of its own and never goes through the JDK's or the system's resolver
 * library; only when no server is given does it take the first {@code nameserver} of {@code
 * /etc/resolv.conf}, once, at {@link Builder#build}. The name is taken as absolute: no search
 * domains.
 *
 * <p><b>Where it runs.</b> Resolutions run on the source's scheduler, by default its own daemon
 * thread {@code lb4j-dns-<name>}, which blocks on each query for at most the timeout; answers reach
 * the listener from that thread, never from a caller's thread or an event loop. {@link #close()}
 * cancels the next resolution, waits for an answer being delivered, and shuts its own thread down;
 * no answer is delivered after it returns.
 *
 * <p>Thread-safe.
 */
public final class DnsMembershipSource implements MembershipSource {
  private static final Logger logger = LoggerFactory.getLogger(DnsMembershipSource.class);

  private final String description;
  private final DnsResolution resolution;
  private final RefreshSchedule schedule;
  private final ScheduledExecutorService scheduler;
  private final boolean ownScheduler;
  private final AtomicLong resolutions = new AtomicLong();

  private final Object lock = new Object();
  private Listener listener; // guarded by lock
  private boolean closed; // guarded by lock
  private ScheduledFuture<?> next; // guarded by lock
  private int failuresInARow; // guarded by lock

  private DnsMembershipSource(Builder b, DnsQuerier querier, InetSocketAddress server) {
    String via =
        IpLiteral.format(server)
            + (b.server == null ? " (the first nameserver of resolv.conf)" : "");
    String what =
        b.record == DnsRecordType.SRV
            ? DnsResolution.text(b.name)
            : DnsResolution.text(b.name) + " port " + b.port;
    this.description = "dns " + b.record + " " + what + " via " + via;
    this.resolution =
        new DnsResolution(querier, b.name, b.record, b.port, IpLiteral.format(server));
    this.schedule = new RefreshSchedule(b.ttlFloor, b.ttlCap, b.retryBase, b.retryMax);
    if (b.scheduler != null) {
      this.scheduler = b.scheduler;
      this.ownScheduler = false;
    } else {
      ScheduledThreadPoolExecutor own =
          new ScheduledThreadPoolExecutor(
              1,
              r -> {
                Thread t = new Thread(r, "lb4j-dns-" + DnsResolution.text(b.name));
                t.setDaemon(true);
                return t;
              });
      own.setRemoveOnCancelPolicy(true);
      this.scheduler = own;
      this.ownScheduler = true;
    }
  }

  /**
   * Returns a builder of a source for {@code name}, a DNS name such as {@code web.example} or
   * {@code _http._tcp.web.example}, taken as absolute.
   *
   * @param name the DNS name to resolve
   * @return a builder with the defaults
   * @throws IllegalArgumentException if {@code name} is not a DNS name, or is an IP literal
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /**
   * Returns what the source asks and of whom: {@code dns SRV _http._tcp.web.test via
   * 127.0.0.53:5353}, {@code dns A web.test port 8080 via 127.0.0.53:5353}.
   */
  @Override
  public String describe() {
    return description;
  }

  /**
   * Resolves at once on the source's scheduler, then as the class describes, answering to {@code
   * listener}.
   *
   * @throws IllegalStateException if the source was started or closed before
   */
  @Override
  public void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("closed: " + description);
      }
      if (this.listener != null) {
        throw new IllegalStateException("started already: " + description);
      }
      this.listener = listener;
      next = scheduler.schedule(this::refresh, 0, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * Stops resolving: cancels the next resolution, waits for an answer being delivered and shuts the
   * source's own thread down (not a scheduler given to the builder). Idempotent.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (next != null) {
        next.cancel(false);
      }
    }
    if (ownScheduler) {
      scheduler.shutdownNow(); // interrupts a query in flight; its outcome is dropped
    }
  }

  /** Returns the number of resolutions begun, for tests. */
  long resolutions() {
    return resolutions.get();
  }

  @Override
  public String toString() {
    return description;
  }

  /** One resolution and the delivery of its outcome; runs on the scheduler. */
  private void refresh() {
    synchronized (lock) {
      if (closed) {
        return;
      }
    }
    resolutions.incrementAndGet();
    DnsResolution.Outcome outcome;
    try {
      outcome = resolution.resolve();
    } catch (RuntimeException e) { // a malformed response dnsjava let through: fail, keep going
      outcome = new DnsResolution.Failure(description + ": " + e);
    }
    synchronized (lock) {
      if (closed) {
        return;
      }
      Duration delay;
      try {
        if (outcome instanceof DnsResolution.Answer answer) {
          failuresInARow = 0;
          delay = schedule.afterAnswer(answer.ttlSeconds());
          logger.debug(
              "{}: {} members, TTL {}s, next in {}",
              description,
              answer.members().size(),
              answer.ttlSeconds(),
              Durations.format(delay));
          listener.onMembers(answer.members());
        } else {
          String reason = ((DnsResolution.Failure) outcome).reason();
          failuresInARow++;
          delay = schedule.afterFailure(failuresInARow);
          logger.debug("{}: {}, next in {}", description, reason, Durations.format(delay));
          listener.onFailure(reason);
        }
      } catch (RuntimeException e) { // the listener's bug must not end the refreshes
        delay = schedule.afterFailure(Math.max(1, failuresInARow));
        logger.warn("{}: the listener threw; resolving again in {}", description, delay, e);
      }
      if (closed) {
        return; // the listener closed the source
      }
      try {
        next = scheduler.schedule(this::refresh, delay.toNanos(), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        logger.warn("{}: its scheduler was shut down; no more resolutions", description);
      }
    }
  }

  /**
   * Settings of a {@link DnsMembershipSource}: each validated when set, the combination at {@link
   * #build()}.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final Name name;
    private DnsRecordType record = DnsRecordType.A;
    private int port;
    private InetSocketAddress server;
    private Duration ttlFloor = RefreshSchedule.DEFAULT_FLOOR;
    private Duration ttlCap = RefreshSchedule.DEFAULT_CAP;
    private Duration retryBase = RefreshSchedule.DEFAULT_RETRY_BASE;
    private Duration retryMax = RefreshSchedule.DEFAULT_RETRY_MAX;
    private Duration timeout = DEFAULT_TIMEOUT;
    private ScheduledExecutorService scheduler;
    private DnsQuerier querier;

    /** What {@link #server(String)} accepts, for error messages. */
    static final String SERVER_EXPECTED =
        " (expected: an IP address with an optional port, such as 192.0.2.53, 127.0.0.53:5353 or"
            + " [::1]:5353; names are not resolved)";

    /** The default bound on each query. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    private Builder(String name) {
      this.name = parseName(name);
    }

    /**
     * Sets what to ask: {@link DnsRecordType#A} unless set.
     *
     * @param record A, AAAA, A_AAAA (both) or SRV
     * @return this builder
     */
    public Builder record(DnsRecordType record) {
      this.record = Objects.requireNonNull(record, "record");
      return this;
    }

    /**
     * Sets the members' port for {@code A}, {@code AAAA} and {@code A_AAAA}, where it is required;
     * SRV records carry their own.
     *
     * @param port the members' port, 1-65535
     * @return this builder
     * @throws IllegalArgumentException if {@code port} is not 1-65535
     */
    public Builder port(int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 1-65535)");
      }
      this.port = port;
      return this;
    }

    /**
     * Sets the resolver to ask, an IP address and port ({@code 127.0.0.53:5353}); without one, the
     * first nameserver of {@code /etc/resolv.conf}.
     *
     * @param server the resolver's IP address and port
     * @return this builder
     * @throws IllegalArgumentException if {@code server} is unresolved (a host name: DNS servers
     *     are given by address) or has port 0
     */
    public Builder server(InetSocketAddress server) {
      Objects.requireNonNull(server, "server");
      if (server.isUnresolved() || server.getPort() == 0) {
        throw new IllegalArgumentException(
            "server: "
                + server
                + " (expected: an IP address and a port 1-65535, such as 127.0.0.53:5353)");
      }
      this.server = server;
      return this;
    }

    /**
     * Sets the resolver to ask from text: an IP literal with an optional port, {@code 192.0.2.53}
     * (port 53), {@code 127.0.0.53:5353}, {@code ::1}, {@code [::1]:5353}. Names are refused, never
     * resolved.
     *
     * @param server the resolver as text
     * @return this builder
     * @throws IllegalArgumentException naming the value if it is none of these
     */
    public Builder server(String server) {
      Objects.requireNonNull(server, "server");
      String text = server.trim();
      String host = text;
      String port = null;
      if (text.startsWith("[")) {
        int close = text.indexOf(']');
        if (close > 0 && close + 1 < text.length() && text.charAt(close + 1) == ':') {
          host = text.substring(0, close + 1);
          port = text.substring(close + 2);
        }
      } else if (text.indexOf(':') >= 0 && text.indexOf(':') == text.lastIndexOf(':')) {
        host = text.substring(0, text.indexOf(':'));
        port = text.substring(text.indexOf(':') + 1);
      }
      InetAddress address;
      try {
        address = IpLiteral.parse(host);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("server: '" + server + "'" + SERVER_EXPECTED, e);
      }
      int p = 53;
      if (port != null) {
        p = port.matches("[0-9]{1,5}") ? Integer.parseInt(port) : -1;
        if (p < 1 || p > 65535) {
          throw new IllegalArgumentException("server: '" + server + "'" + SERVER_EXPECTED);
        }
      }
      this.server = new InetSocketAddress(address, p);
      return this;
    }

    /**
     * Sets the shortest time between two resolutions, whatever the TTL: 1 s unless set.
     *
     * @param floor the shortest time between resolutions
     * @return this builder
     * @throws IllegalArgumentException if it is not positive
     */
    public Builder ttlFloor(Duration floor) {
      this.ttlFloor = positive("ttlFloor", floor);
      return this;
    }

    /**
     * Sets the longest time an answer is used before asking again, whatever the TTL: 5 min unless
     * set.
     *
     * @param cap the longest time an answer is used
     * @return this builder
     * @throws IllegalArgumentException if it is not positive
     */
    public Builder ttlCap(Duration cap) {
      this.ttlCap = positive("ttlCap", cap);
      return this;
    }

    /**
     * Sets the retry after failures: {@code base} after the first, doubling with each failure in a
     * row up to {@code max}; 1 s and 30 s unless set. Never sooner than the TTL floor.
     *
     * @param base the delay after the first failure
     * @param max the longest delay
     * @return this builder
     * @throws IllegalArgumentException if either is not positive
     */
    public Builder retry(Duration base, Duration max) {
      this.retryBase = positive("retryBase", base);
      this.retryMax = positive("retryMax", max);
      return this;
    }

    /**
     * Sets how long each query waits for its response: 2 s unless set.
     *
     * @param timeout the wait for each query's response
     * @return this builder
     * @throws IllegalArgumentException if it is not positive
     */
    public Builder timeout(Duration timeout) {
      this.timeout = positive("timeout", timeout);
      return this;
    }

    /**
     * Resolves on {@code scheduler} instead of the source's own daemon thread; each resolution
     * blocks one of its threads for up to the timeout per query. The source does not shut it down.
     *
     * @param scheduler the executor that resolves
     * @return this builder
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Asks through {@code querier} instead of the network; for tests. */
    Builder querier(DnsQuerier querier) {
      this.querier = Objects.requireNonNull(querier, "querier");
      return this;
    }

    /**
     * Returns the source, not started.
     *
     * @return the source; {@link
     *     DnsMembershipSource#start(io.lb4j.discovery.MembershipSource.Listener)} begins resolving
     * @throws IllegalArgumentException if A/AAAA has no port, SRV has one, {@code ttlCap} is below
     *     {@code ttlFloor} or {@code retryMax} below {@code retryBase}
     * @throws IllegalStateException if no server is set and {@code /etc/resolv.conf} names none
     */
    public DnsMembershipSource build() {
      if (record == DnsRecordType.SRV && port != 0) {
        throw new IllegalArgumentException(
            "port: " + port + " (expected: none with record SRV: its records give the ports)");
      }
      if (record != DnsRecordType.SRV && port == 0) {
        throw new IllegalArgumentException(
            "port: missing (expected: the members' port, 1-65535, with record " + record + ")");
      }
      new RefreshSchedule(ttlFloor, ttlCap, retryBase, retryMax); // validates the combination
      InetSocketAddress to = server;
      if (to == null) {
        to = ResolverConfig.getCurrentConfig().server();
        if (to == null || to.isUnresolved()) {
          throw new IllegalStateException(
              "server: none set and /etc/resolv.conf names no nameserver (expected: a server"
                  + " such as 127.0.0.53:53)");
        }
      }
      DnsQuerier q = querier != null ? querier : DnsQuerier.udp(to, timeout);
      return new DnsMembershipSource(this, q, to);
    }

    private static Name parseName(String name) {
      Objects.requireNonNull(name, "name");
      String expected = " (expected: a DNS name such as web.example or _http._tcp.web.example)";
      boolean literal;
      try {
        IpLiteral.parse(name);
        literal = true;
      } catch (IllegalArgumentException e) {
        literal = false;
      }
      if (literal) {
        throw new IllegalArgumentException(
            "name: '"
                + name
                + "' is an IP address"
                + expected.substring(0, expected.length() - 1)
                + "; a fixed address belongs in the pool's backends)");
      }
      if (name.isBlank() || name.equals(".")) {
        throw new IllegalArgumentException("name: '" + name + "'" + expected);
      }
      try {
        return Name.fromString(name, Name.root);
      } catch (TextParseException e) {
        throw new IllegalArgumentException(
            "name: '"
                + name
                + "'"
                + expected.substring(0, expected.length() - 1)
                + "; "
                + e.getMessage()
                + ")",
            e);
      }
    }

    private static Duration positive(String field, Duration d) {
      Objects.requireNonNull(d, field);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(field + ": " + Durations.format(d) + " (expected: > 0)");
      }
      return d;
    }
  }
}

package io.lb4j.kubernetes;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The members of a pool from a Kubernetes Service's {@code discovery.k8s.io/v1} EndpointSlices,
 * watched — not polled — through a fabric8 informer.
 *
 * <pre>{@code
 * MembershipSource web =
 *     KubernetesMembershipSource.builder().namespace("shop").service("web").port("http").build();
 * balancer.attach("web", web, DiscoveryOptions.DEFAULT);
 * }</pre>
 *
 * <p>The informer lists the slices labelled {@code kubernetes.io/service-name=<service>} in the
 * namespace, then watches them. On every change, all slices of the Service are merged into one
 * complete answer (see {@code EndpointSliceMapper} for the rules): each address of each endpoint
 * whose slice lists the chosen port is a member with id {@link Member#idOf ip:port}, weight 1, its
 * zone from {@code endpoint.zone}; a terminating endpoint drains, a not-ready one is {@link
 * Member.State#UNHEALTHY}. No answer is given before the first complete list: a partial one would
 * remove the members of the slices not yet seen.
 *
 * <p>Threads: fabric8 delivers events on its own threads; the handler only marks the answer stale
 * and wakes this source's thread ({@code lb4j-kubernetes-<namespace>/<service>}), which reads the
 * informer's cache and calls the listener. Bursts of events coalesce into one answer. Every answer
 * goes to the listener, also one equal to the last: the balancer rebuilds nothing for it and counts
 * it ({@code answersUnchanged}).
 *
 * <p>Failures: an error the informer meets (a list refused or unreachable, HTTP 403 for missing
 * RBAC, a watch ended by an error status) is told at once with {@link Listener#onFailure}; so is a
 * watch that has not been connected for a grace period of two {@link
 * Builder#connectionCheckInterval connection checks} and at least 2 s (a check is a look at the
 * informer, every 1 s by default, not a request to the API server; the grace covers the informer's
 * routine watch restarts). The balancer keeps the last good members meanwhile; the informer retries
 * with its back-off, without end; once it watches again, the full answer is given again. fabric8's
 * JDK and Vert.x HTTP clients send no WebSocket pings (only its OkHttp client does), so a watch
 * whose connection silently dies (no reset, no close) is noticed only when the informer restarts
 * the watch, after 5 to 10 minutes (fabric8's watch timeout).
 *
 * <p>The client: the one given to {@link Builder#client}, neither configured nor closed here, or
 * one the source makes on its thread from {@link Builder#config} (default: fabric8's
 * auto-configuration) with fabric8's JDK HTTP client, closed with the source.
 *
 * <p>Thread-safe.
 */
public final class KubernetesMembershipSource implements MembershipSource {
  private static final Logger logger = LoggerFactory.getLogger(KubernetesMembershipSource.class);

  /** Which address families a source takes, as an EndpointSlice's {@code addressType} says. */
  public enum AddressType {
    /** {@code addressType: IPv4} slices. */
    IPV4("IPv4"),
    /** {@code addressType: IPv6} slices. */
    IPV6("IPv6");

    private final String kubernetesName;

    AddressType(String kubernetesName) {
      this.kubernetesName = kubernetesName;
    }

    /** {@return the name as Kubernetes spells it: {@code IPv4}, {@code IPv6}} */
    public String kubernetesName() {
      return kubernetesName;
    }

    /**
     * Returns the type Kubernetes calls {@code name} ({@code IPv4}, {@code IPv6}, any case).
     *
     * @param name the name as written in the slice or the configuration
     * @return the type
     */
    public static AddressType of(String name) {
      for (AddressType t : values()) {
        if (t.kubernetesName.equalsIgnoreCase(name)) {
          return t;
        }
      }
      throw new IllegalArgumentException(
          "addressType: " + KubernetesNames.quote(name) + " (expected: IPv4 or IPv6)");
    }
  }

  private final KubernetesClient givenClient; // the caller's; never closed here
  private final Config config; // when no client was given: one is made from it and closed here
  private final String namespace;
  private final String service;
  private final AddressType only; // null: both families
  private final long checkNanos;
  private final long graceNanos; // how long the watch may be down before it is a failure
  private final LongSupplier nanoTime;
  private final Function<KubernetesMembershipSource, SliceWatch> watches;
  private final EndpointSliceMapper mapper;
  private final String description;

  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean answerPending = new AtomicBoolean();
  private volatile boolean closed;
  private volatile Listener listener;
  private volatile ScheduledThreadPoolExecutor executor;
  private volatile Thread thread; // the executor's one thread
  private volatile String lastError;
  private volatile KubernetesClient ownedClient; // made on this source's thread
  private volatile SliceWatch watch; // made on this source's thread

  // On this source's thread only.
  private boolean failing;
  private long notWatchingSince = -1;
  private final Set<String> loggedSkips = new HashSet<>();

  private KubernetesMembershipSource(
      Builder b,
      Config config,
      String namespace,
      Function<KubernetesMembershipSource, SliceWatch> watches,
      LongSupplier nanoTime) {
    this.givenClient = b.client;
    this.config = config;
    this.namespace = namespace;
    this.service = b.service;
    this.only = b.addressType;
    this.checkNanos = b.connectionCheckInterval.toNanos();
    this.graceNanos = Math.max(2 * checkNanos, TimeUnit.SECONDS.toNanos(2));
    this.watches = watches;
    this.nanoTime = nanoTime;
    this.mapper =
        new EndpointSliceMapper(
            service, b.port, only != AddressType.IPV6, only != AddressType.IPV4);
    this.description =
        "kubernetes endpointslices of service '"
            + service
            + "' in namespace '"
            + namespace
            + "' port "
            + b.port
            + (only == null ? "" : " (" + only.kubernetesName() + " only)");
  }

  /** {@return a new builder; the service and the port must be set} */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns {@code kubernetes endpointslices of service 'web' in namespace 'shop' port 'http'} (or
   * {@code port 8080}).
   */
  @Override
  public String describe() {
    return description;
  }

  /** {@return the namespace watched (the one given, else the client's default)} */
  public String namespace() {
    return namespace;
  }

  /**
   * Starts listing and watching on this source's thread and returns at once; the first answer
   * follows the first complete list of the Service's slices.
   *
   * @throws IllegalStateException when called twice or after {@link #close()}
   */
  @Override
  public void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    if (closed || !started.compareAndSet(false, true)) {
      throw new IllegalStateException(
          "start: " + description + " was already started or closed (expected: one start)");
    }
    this.listener = listener;
    ScheduledThreadPoolExecutor e =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "lb4j-kubernetes-" + namespace + "/" + service);
              t.setDaemon(true);
              thread = t;
              return t;
            });
    e.setRemoveOnCancelPolicy(true);
    e.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    executor = e;
    e.execute(guarded(this::startWatch));
    e.scheduleWithFixedDelay(guarded(this::check), checkNanos, checkNanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Stops the watch and this source's thread, and closes the client when the source made it. No
   * answer is given after it returns. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) { // waits for an answer being given; none after this
      if (closed) {
        return;
      }
      closed = true;
    }
    ScheduledThreadPoolExecutor e = executor;
    if (e != null) {
      e.shutdownNow();
      if (Thread.currentThread() != thread) { // from a listener: this thread ends after it
        try {
          e.awaitTermination(5, TimeUnit.SECONDS); // a client or watch being made, at most
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
        }
      }
    }
    SliceWatch w = watch;
    if (w != null) {
      w.close();
    }
    KubernetesClient c = ownedClient;
    if (c != null) {
      c.close();
    }
  }

  /** Returns whether the watch is connected now; for tests. */
  boolean watching() {
    SliceWatch w = watch;
    return w != null && w.watching();
  }

  /** Makes the fabric8 watch: with the caller's client, or one made once from the config. */
  static SliceWatch informer(KubernetesMembershipSource s) {
    KubernetesClient c = s.givenClient;
    if (c == null) {
      c = s.ownedClient;
      if (c == null) {
        c =
            new KubernetesClientBuilder()
                .withConfig(s.config)
                .withHttpClientFactory(new JdkHttpClientFactory())
                .build();
        s.ownedClient = c;
      }
    }
    return new InformerSliceWatch(c, s.namespace, s.service);
  }

  // ---- on this source's thread ----

  private void startWatch() {
    if (closed) {
      return;
    }
    SliceWatch w;
    try {
      w = watches.apply(this);
    } catch (RuntimeException e) { // a client that cannot be made: tried again at the next check
      lastError = describe(e);
      fail("cannot make the client: " + lastError);
      return;
    }
    watch = w;
    if (closed) {
      w.close();
      return;
    }
    SliceWatch.Events events =
        new SliceWatch.Events() {
          @Override
          public void changed() {
            requestAnswer();
          }

          @Override
          public void failed(Throwable error) {
            String what = describe(error);
            lastError = what;
            submit(() -> fail("list or watch failed at " + w.server() + ": " + what));
          }
        };
    try {
      w.start(events);
    } catch (RuntimeException e) { // tried again, with a new watch, at the next check
      watch = null;
      w.close();
      lastError = describe(e);
      fail("cannot start watching: " + lastError);
    }
  }

  /** Checks that the watch is connected; reports a lost watch, and answers again on recovery. */
  void check() {
    if (closed) {
      return;
    }
    SliceWatch w = watch;
    if (w == null) {
      startWatch();
      return;
    }
    if (w.watching()) {
      notWatchingSince = -1;
      if (failing) {
        failing = false;
        lastError = null;
        logger.info("{}: watching again", description);
        answer();
      }
      return;
    }
    if (!w.synced()) {
      return; // before the first list, failures come from the watch's own error reports
    }
    long now = nanoTime.getAsLong();
    if (notWatchingSince < 0) {
      notWatchingSince = now;
    }
    if (!failing && now - notWatchingSince >= graceNanos) {
      String error = lastError;
      fail(
          "the watch is down for "
              + Math.max(1, TimeUnit.NANOSECONDS.toSeconds(now - notWatchingSince))
              + "s at "
              + w.server()
              + ", reconnecting"
              + (error == null ? "" : "; last error: " + error));
    }
  }

  private void fail(String reason) {
    if (closed) {
      return;
    }
    failing = true;
    synchronized (this) {
      if (!closed) {
        listener.onFailure(reason);
      }
    }
  }

  /** Gives the listener the answer the watch's cache makes now. */
  private void answer() {
    SliceWatch w = watch;
    if (closed || w == null || !w.synced()) {
      logger.debug("{}: no answer before the first complete list", description);
      return; // before the first complete list, any answer could be partial
    }
    if (failing && !w.watching()) {
      return; // the check answers when the watch is back
    }
    List<EndpointSlice> slices = w.slices();
    EndpointSliceMapper.Answer a = mapper.map(slices);
    logSkips(a.skipped());
    logger.debug("{}: {} members from {} slices", description, a.members().size(), slices.size());
    synchronized (this) {
      if (!closed) {
        listener.onMembers(a.members());
      }
    }
  }

  private void logSkips(Set<String> skipped) {
    for (String s : skipped) {
      if (!loggedSkips.contains(s)) {
        logger.warn("{}: {}", description, s);
      }
    }
    loggedSkips.retainAll(skipped);
    loggedSkips.addAll(skipped);
  }

  // ---- from any thread ----

  /** Asks for a new answer on this source's thread; events that come meanwhile share it. */
  private void requestAnswer() {
    if (answerPending.compareAndSet(false, true)) {
      submit(
          () -> {
            answerPending.set(false);
            answer();
          });
    }
  }

  /** Runs {@code task} on this source's thread; for tests, {@link #check()} among others. */
  void submit(Runnable task) {
    ScheduledThreadPoolExecutor e = executor;
    if (e == null || closed) {
      return;
    }
    try {
      e.execute(guarded(task));
    } catch (RejectedExecutionException closing) {
      // closed meanwhile: nothing more to say
    }
  }

  /**
   * Returns {@code task} that reports what it throws instead of letting the executor swallow it
   * (and, for the periodic check, cancel the task).
   */
  private Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        logger.error("{}: internal error", description, e);
        try {
          fail("internal error: " + describe(e));
        } catch (RuntimeException | Error again) {
          // the listener threw too; it was logged once
        }
      }
    };
  }

  private static String describe(Throwable t) {
    if (t instanceof KubernetesClientException k && k.getCode() > 0) {
      String hint =
          switch (k.getCode()) {
            case 401 -> " (the client's credentials were refused)";
            case 403 ->
                " (RBAC: the service account needs get, list and watch on"
                    + " endpointslices.discovery.k8s.io in the namespace)";
            case 404 -> " (discovery.k8s.io/v1 needs Kubernetes 1.21 or later)";
            default -> "";
          };
      return "HTTP " + k.getCode() + " " + k.getMessage() + hint;
    }
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage() == null ? "" : ": " + root.getMessage();
    return root == t
        ? t.getClass().getSimpleName() + message
        : t.getClass().getSimpleName() + " (" + root.getClass().getSimpleName() + message + ")";
  }

  /**
   * Builds a {@link KubernetesMembershipSource}. {@link #service} and {@link #port} are required.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private KubernetesClient client;
    private Config config;
    private String namespace;
    private String service;
    private PortRef port;
    private AddressType addressType;
    private Duration connectionCheckInterval = Duration.ofSeconds(1);

    private Builder() {}

    /**
     * Uses {@code client}, the caller's: the source neither configures nor closes it. Without one,
     * the source makes a client from {@link #config} and closes it with itself.
     *
     * @param client a fabric8 client, left open when the source closes
     * @return this builder
     */
    public Builder client(KubernetesClient client) {
      this.client = Objects.requireNonNull(client, "client");
      return this;
    }

    /**
     * Makes the source's own client from {@code config}, with fabric8's JDK HTTP client. Default:
     * fabric8's auto-configuration ({@code Config.autoConfigure(null)}) — in a pod, its service
     * account and namespace; elsewhere {@code ~/.kube/config} (or {@code $KUBECONFIG}) and its
     * current context.
     *
     * @param config the client configuration: API server, credentials, namespace
     * @return this builder
     */
    public Builder config(Config config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * Watches namespace {@code namespace}. Default: the client's (or config's) namespace.
     *
     * @param namespace a Kubernetes namespace name
     * @return this builder
     */
    public Builder namespace(String namespace) {
      this.namespace = KubernetesNames.namespace("namespace", namespace);
      return this;
    }

    /**
     * Watches the slices of Service {@code service}. Required.
     *
     * @param service the Service's name
     * @return this builder
     */
    public Builder service(String service) {
      this.service = KubernetesNames.serviceName("service", service);
      return this;
    }

    /**
     * Takes the slices' port {@code port}: a Service port's name ({@code http}), or a number
     * ({@code 8080}, the port the endpoints listen on). Required (this or {@link #port(int)}).
     *
     * @param port a Service port's name, or a port number as text
     * @return this builder
     */
    public Builder port(String port) {
      this.port = PortRef.parse(port);
      return this;
    }

    /**
     * Takes the slices' port numbered {@code port}, the port the endpoints listen on, 1-65535.
     *
     * @param port the endpoints' port number, 1-65535
     * @return this builder
     */
    public Builder port(int port) {
      this.port = PortRef.numbered(port);
      return this;
    }

    /**
     * Takes only slices of {@code type}; default both. A dual-stack Service has IPv4 and IPv6
     * slices, so each pod would be two members: choose one family there.
     *
     * @param type IPv4 or IPv6
     * @return this builder
     */
    public Builder addressType(AddressType type) {
      this.addressType = Objects.requireNonNull(type, "type");
      return this;
    }

    /**
     * How often the source checks that its watch is connected, a look at the informer and not a
     * request to the API server; a watch down for two intervals and at least 2 s is reported.
     * Default 1 s. Changes never wait for it: they come with the watch's events.
     *
     * @param interval the check interval, 10 ms to 1 day
     * @return this builder
     */
    public Builder connectionCheckInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.toMillis() < 10 || interval.compareTo(Duration.ofDays(1)) > 0) {
        throw new IllegalArgumentException(
            "connectionCheckInterval: " + interval + " (expected: 10ms to 1d)");
      }
      this.connectionCheckInterval = interval;
      return this;
    }

    /**
     * Returns the source. Reads fabric8's auto-configuration (local files, no network) when neither
     * a client nor a config was given.
     *
     * @return the source, not started
     * @throws IllegalStateException without a service or a port, or with both a client and a config
     */
    public KubernetesMembershipSource build() {
      return build(KubernetesMembershipSource::informer, System::nanoTime);
    }

    /** Returns the source with its watch made by {@code watches}, and a clock; for tests. */
    KubernetesMembershipSource build(
        Function<KubernetesMembershipSource, SliceWatch> watches, LongSupplier nanoTime) {
      if (service == null) {
        throw new IllegalStateException("service: not set (expected: the Service's name)");
      }
      if (port == null) {
        throw new IllegalStateException(
            "port: not set (expected: a port number 1-65535, or the name of a Service port)");
      }
      if (client != null && config != null) {
        throw new IllegalStateException(
            "client and config: both set (expected: one; a config makes the source's own client)");
      }
      Config cfg = client == null && config == null ? Config.autoConfigure(null) : config;
      String ns = namespace;
      if (ns == null) {
        ns = client != null ? client.getNamespace() : cfg.getNamespace();
        if (ns == null || ns.isEmpty()) {
          ns = "default";
        }
      }
      return new KubernetesMembershipSource(this, cfg, ns, watches, nanoTime);
    }
  }
}

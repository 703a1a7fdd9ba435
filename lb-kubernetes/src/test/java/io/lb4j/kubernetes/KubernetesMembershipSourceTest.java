package io.lb4j.kubernetes;

import static io.lb4j.kubernetes.Slices.notReady;
import static io.lb4j.kubernetes.Slices.port;
import static io.lb4j.kubernetes.Slices.ready;
import static io.lb4j.kubernetes.Slices.slice;
import static io.lb4j.kubernetes.Slices.terminating;
import static io.lb4j.kubernetes.Slices.webPorts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.HealthOverride;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.discovery.Discovery;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.discovery.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The source against fabric8's mock API server in CRUD mode (no real API server can run on these
 * machines): EndpointSlices are created, edited and deleted through the API, and the members of an
 * lb4j pool follow — ready, draining, unhealthy, removed — with established flows kept.
 */
class KubernetesMembershipSourceTest {
  private static final int FRONTEND = 0x7f000001; // 127.0.0.1
  private static final AtomicInteger NAMESPACES = new AtomicInteger();

  private MockApiServer api; // one per test: a mock whose event loop a test wedged stays with it
  private KubernetesClient admin; // writes slices, as the EndpointSlice controller would

  private final List<AutoCloseable> closeAtEnd = new ArrayList<>();
  private final AtomicInteger rebuilds = new AtomicInteger();
  private String namespace;
  private L4LoadBalancer lb;
  private TcpRelay relay; // every watch of a test goes through it; see closeAll()
  private KubernetesMembershipSource attached;

  @BeforeEach
  void freshServerNamespaceAndRelay() throws Exception {
    api = new MockApiServer();
    admin = api.newClient();
    namespace = "ns-" + NAMESPACES.incrementAndGet();
    relay = new TcpRelay(api.port());
  }

  /**
   * Cuts the relay before the sources close, so that the mock server never sees a watch end while
   * it may be sending on it (see {@link TcpRelay}); then the relay, the client and the server.
   */
  @AfterEach
  void closeAll() throws Exception {
    relay.cut();
    for (int i = closeAtEnd.size() - 1; i >= 0; i--) {
      closeAtEnd.get(i).close();
    }
    relay.close();
    admin.close();
    api.close();
  }

  // ---- fixtures ----

  private <T extends AutoCloseable> T closeAtEnd(T c) {
    closeAtEnd.add(c);
    return c;
  }

  private KubernetesMembershipSource.Builder source() {
    return KubernetesMembershipSource.builder()
        .client(closeAtEnd(api.newClient(relay.url())))
        .namespace(namespace)
        .service("web")
        .port("http")
        .connectionCheckInterval(Duration.ofMillis(100));
  }

  private Discovery attach(KubernetesMembershipSource source) {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(BackendPool.of("web"))
            .rule(
                LoadBalancingRule.builder("http")
                    .frontend("fe")
                    .frontendPort(80)
                    .backendPool("web")
                    .backendPort(8080)
                    .build())
            .build();
    lb = closeAtEnd(L4LoadBalancer.builder().config(config).build());
    lb.addListener(
        new LoadBalancerListener() {
          @Override
          public void onReconfigured(LoadBalancerConfig c) {
            rebuilds.incrementAndGet();
          }
        });
    attached = source;
    return lb.attach("web", source, DiscoveryOptions.DEFAULT);
  }

  /**
   * Waits until {@code source}'s watch is connected. The mock server does not replay a watch from a
   * resource version as an API server does: a change made between the list and the watch's start
   * would never reach the source, so a test changes slices only once it watches.
   */
  private void awaitWatching(KubernetesMembershipSource source) {
    await("watching", source::watching);
  }

  private void create(EndpointSlice slice) {
    admin.discovery().v1().endpointSlices().inNamespace(namespace).resource(slice).create();
  }

  private void create(String namespace, EndpointSlice slice) {
    admin.discovery().v1().endpointSlices().inNamespace(namespace).resource(slice).create();
  }

  private void edit(String name, UnaryOperator<EndpointSlice> change) {
    admin.discovery().v1().endpointSlices().inNamespace(namespace).withName(name).edit(change);
  }

  private void setEndpoints(String name, Endpoint... endpoints) {
    edit(name, s -> new EndpointSliceBuilder(s).withEndpoints(endpoints).build());
  }

  private void delete(String name) {
    admin.discovery().v1().endpointSlices().inNamespace(namespace).withName(name).delete();
  }

  private Map<String, Backend> pool() {
    Map<String, Backend> out = new HashMap<>();
    for (Backend b : lb.config().pool("web").backends()) {
      out.put(b.id(), b);
    }
    return out;
  }

  private static FlowKey flow(int client, int port) {
    return FlowKey.ipv4(0x7f000100 + client, port, FRONTEND, 80, Protocol.TCP);
  }

  /** Waits at most 10 s for {@code condition}, looking every 2 ms. */
  private void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "not within 10 s: "
                + what
                + "; pool "
                + (lb == null ? "-" : new TreeSet<>(pool().keySet()))
                + ", "
                + (lb == null ? "-" : lb.discoveries()));
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
    }
  }

  private void awaitPool(Set<String> ids) {
    await("pool " + ids, () -> pool().keySet().equals(ids));
  }

  // ---- tests ----

  @Test
  void attach_readyEndpoints_becomeMembersThatGetFlows() {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1"), ready("127.0.1.2")));
    Discovery d = attach(source().build());
    awaitPool(Set.of("127.0.1.1:8080", "127.0.1.2:8080"));
    assertEquals(DiscoveryStatus.State.OK, d.status().state());
    assertEquals(
        "kubernetes endpointslices of service 'web' in namespace '" + namespace + "' port 'http'",
        d.status().source());
    Set<String> picked = new TreeSet<>();
    for (int i = 0; i < 200; i++) {
      Selection s = lb.select(flow(i, 40000));
      assertTrue(s.isSelected(), s.toString());
      assertEquals(8080, s.target().getPort());
      picked.add(s.backend().id());
    }
    assertEquals(Set.of("127.0.1.1:8080", "127.0.1.2:8080"), picked);
    Backend b = pool().get("127.0.1.1:8080");
    assertEquals(1, b.weight());
    assertEquals(AdminState.ENABLED, b.adminState());
    assertEquals(HealthOverride.FOLLOW_PROBE, b.healthOverride());
  }

  @Test
  void terminatingEndpoint_drains_establishedFlowsStayNewFlowsAvoidIt() {
    create(
        slice(
            "web-a",
            "web",
            webPorts(),
            ready("127.0.1.1"),
            ready("127.0.1.2"),
            ready("127.0.1.3"),
            ready("127.0.1.4")));
    attach(source().build());
    awaitPool(Set.of("127.0.1.1:8080", "127.0.1.2:8080", "127.0.1.3:8080", "127.0.1.4:8080"));
    awaitWatching(attached);
    Map<FlowKey, String> established = new HashMap<>();
    for (int i = 0; i < 200; i++) {
      established.put(flow(i, 40000), lb.select(flow(i, 40000)).backend().id());
    }
    String victim = established.get(flow(0, 40000));
    String victimIp = victim.substring(0, victim.indexOf(':'));
    int pinned = lb.activeFlows("http", victim);
    assertTrue(pinned > 0);
    List<Endpoint> endpoints = new ArrayList<>();
    for (int h = 1; h <= 4; h++) {
      String ip = "127.0.1." + h;
      endpoints.add(ip.equals(victimIp) ? terminating(ip, true) : ready(ip));
    }
    setEndpoints("web-a", endpoints.toArray(Endpoint[]::new));
    await("draining", () -> pool().get(victim).adminState() == AdminState.DRAINING);

    assertEquals(4, pool().size(), "a draining member stays in the pool");
    for (Map.Entry<FlowKey, String> e : established.entrySet()) {
      assertEquals(e.getValue(), lb.select(e.getKey()).backend().id(), "an established flow moved");
    }
    assertEquals(pinned, lb.activeFlows("http", victim));
    for (int i = 0; i < 500; i++) {
      assertNotEquals(victim, lb.select(flow(i, 50000)).backend().id(), "a new flow to a drain");
    }
  }

  @Test
  void terminatingNotServing_alsoDrains_notReady_isUnhealthy() {
    create(
        slice(
            "web-a",
            "web",
            webPorts(),
            ready("127.0.1.1"),
            terminating("127.0.1.2", false),
            notReady("127.0.1.3")));
    attach(source().build());
    awaitPool(Set.of("127.0.1.1:8080", "127.0.1.2:8080", "127.0.1.3:8080"));
    awaitWatching(attached);
    Map<String, Backend> pool = pool();
    assertEquals(AdminState.ENABLED, pool.get("127.0.1.1:8080").adminState());
    assertEquals(AdminState.DRAINING, pool.get("127.0.1.2:8080").adminState());
    assertEquals(HealthOverride.FOLLOW_PROBE, pool.get("127.0.1.2:8080").healthOverride());
    assertEquals(AdminState.ENABLED, pool.get("127.0.1.3:8080").adminState());
    assertEquals(HealthOverride.FORCE_DOWN, pool.get("127.0.1.3:8080").healthOverride());
    for (int i = 0; i < 300; i++) {
      assertEquals("127.0.1.1:8080", lb.select(flow(i, 40000)).backend().id());
    }

    // the pod becomes ready: the same member, now in rotation
    setEndpoints("web-a", ready("127.0.1.1"), terminating("127.0.1.2", false), ready("127.0.1.3"));
    await(
        "ready",
        () -> pool().get("127.0.1.3:8080").healthOverride() == HealthOverride.FOLLOW_PROBE);
  }

  @Test
  void removedEndpoint_establishedFlowSurvives() {
    create(
        slice(
            "web-a",
            "web",
            webPorts(),
            ready("127.0.1.1"),
            ready("127.0.1.2"),
            ready("127.0.1.3")));
    attach(source().build());
    awaitPool(Set.of("127.0.1.1:8080", "127.0.1.2:8080", "127.0.1.3:8080"));
    awaitWatching(attached);
    Map<FlowKey, String> established = new HashMap<>();
    for (int i = 0; i < 100; i++) {
      established.put(flow(i, 40000), lb.select(flow(i, 40000)).backend().id());
    }
    String victim = "127.0.1.2:8080";
    int pinned = lb.activeFlows("http", victim);
    assertTrue(pinned > 0, "no flow on the victim among 100");

    setEndpoints("web-a", ready("127.0.1.1"), ready("127.0.1.3"));
    awaitPool(Set.of("127.0.1.1:8080", "127.0.1.3:8080"));

    for (Map.Entry<FlowKey, String> e : established.entrySet()) {
      assertEquals(e.getValue(), lb.select(e.getKey()).backend().id(), "an established flow moved");
    }
    assertEquals(pinned, lb.activeFlows("http", victim));
    for (int i = 0; i < 300; i++) {
      assertNotEquals(victim, lb.select(flow(i, 50000)).backend().id());
    }
  }

  @Test
  void port_byNameAndByNumber() throws Exception {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1")));
    RecordingListener byName = new RecordingListener();
    KubernetesMembershipSource metrics = closeAtEnd(source().port("metrics").build());
    metrics.start(byName);
    List<Member> answer = byName.nextMembers();
    assertEquals(List.of("127.0.1.1:9090"), ids(answer), "the first answer is complete");
    assertEquals(9090, answer.get(0).port());

    RecordingListener byNumber = new RecordingListener();
    KubernetesMembershipSource http = closeAtEnd(source().port(8080).build());
    assertTrue(http.describe().endsWith("port 8080"), http.describe());
    http.start(byNumber);
    assertEquals(List.of("127.0.1.1:8080"), ids(byNumber.nextMembers()));
  }

  @Test
  void slices_mergedIntoOneAnswer_duplicateAddressOnce_otherServicesIgnored() throws Exception {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1", "zone-a"), ready("127.0.1.2")));
    // the controller may list an endpoint in two slices while it moves it: one member
    create(
        slice(
            "web-b",
            "web",
            webPorts(),
            terminating("127.0.1.2", true),
            ready("127.0.1.3", "zone-b")));
    create(slice("api-a", "api", webPorts(), ready("127.0.2.1"))); // another Service
    create("other-" + namespace, slice("web-x", "web", webPorts(), ready("127.0.3.1")));
    RecordingListener l = new RecordingListener();
    KubernetesMembershipSource s = closeAtEnd(source().build());
    s.start(l);
    RecordingListener.Said first = l.next();
    assertNull(first.failure());
    assertTrue(first.thread().startsWith("lb4j-kubernetes-"), "answered on " + first.thread());
    List<Member> answer = first.members();
    assertEquals(List.of("127.0.1.1:8080", "127.0.1.2:8080", "127.0.1.3:8080"), ids(answer));
    assertEquals("zone-a", answer.get(0).zone());
    assertEquals(Member.State.READY, answer.get(1).state(), "READY wins over DRAINING");
    assertEquals("zone-b", answer.get(2).zone());

    awaitWatching(s);
    delete("web-a");
    List<Member> now = l.awaitIds("127.0.1.2:8080", "127.0.1.3:8080");
    assertEquals(Member.State.DRAINING, now.get(0).state(), "only web-b lists it now");
  }

  @Test
  void sliceWithoutThePort_andFqdnSlice_contributeNothing() throws Exception {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1")));
    create(slice("web-b", "web", List.of(port("metrics", 9090)), ready("127.0.1.2")));
    create(
        slice(
            "web-c",
            "web",
            "FQDN",
            webPorts(),
            new io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder()
                .withAddresses("web-0.example.test")
                .build()));
    RecordingListener l = new RecordingListener();
    closeAtEnd(source().build()).start(l);
    assertEquals(List.of("127.0.1.1:8080"), ids(l.nextMembers()));
  }

  @Test
  void ipv6Slices_ipv6Members_addressTypeChoosesAFamily() throws Exception {
    create(slice("web-v4", "web", webPorts(), ready("127.0.1.1")));
    create(slice("web-v6", "web", "IPv6", webPorts(), ready("2001:db8::1")));
    RecordingListener both = new RecordingListener();
    closeAtEnd(source().build()).start(both);
    assertEquals(List.of("127.0.1.1:8080", "ip6-2001-db8--1.8080"), ids(both.nextMembers()));

    RecordingListener v6 = new RecordingListener();
    closeAtEnd(source().addressType(KubernetesMembershipSource.AddressType.IPV6).build()).start(v6);
    assertEquals(List.of("ip6-2001-db8--1.8080"), ids(v6.nextMembers()));
  }

  @Test
  void changes_comeByTheWatch_notByAPoll() {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1")));
    // no connection check for an hour, no resync: a change can only come by the watch's events
    attach(source().connectionCheckInterval(Duration.ofHours(1)).build());
    awaitPool(Set.of("127.0.1.1:8080"));
    awaitWatching(attached);
    List<Endpoint> endpoints = new ArrayList<>(List.of(ready("127.0.1.1")));
    Set<String> ids = new TreeSet<>(Set.of("127.0.1.1:8080"));
    long[] micros = new long[20];
    for (int i = 0; i < micros.length; i++) {
      String ip = "127.0.1." + (10 + i);
      endpoints.add(ready(ip));
      ids.add(ip + ":8080");
      long start = System.nanoTime();
      setEndpoints("web-a", endpoints.toArray(Endpoint[]::new));
      awaitPool(ids);
      micros[i] = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
    }
    java.util.Arrays.sort(micros);
    System.out.printf(
        "kubernetes watch: API write to pool change over %d changes: median %.1f ms, max %.1f ms%n",
        micros.length, micros[micros.length / 2] / 1e3, micros[micros.length - 1] / 1e3);
    assertTrue(micros[micros.length - 1] < 5_000_000, "a change took over 5 s");
  }

  @Test
  void sameContentReapplied_rebuildsNothing() {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1"), ready("127.0.1.2")));
    Discovery d = attach(source().build());
    awaitPool(Set.of("127.0.1.1:8080", "127.0.1.2:8080"));
    awaitWatching(attached);
    await("the first rebuild told", () -> rebuilds.get() == 1); // told after it is visible
    String fingerprint = lb.selectionFingerprint("http");
    int rebuildsBefore = rebuilds.get();
    DiscoveryStatus before = d.status();
    for (int i = 0; i < 5; i++) {
      String flap = Integer.toString(i);
      // an update that changes no endpoint (a label, an annotation): a MODIFIED event each
      edit(
          "web-a",
          s ->
              new EndpointSliceBuilder(s)
                  .editMetadata()
                  .addToAnnotations("flap", flap)
                  .endMetadata()
                  .withEndpoints(ready("127.0.1.1"), ready("127.0.1.2"))
                  .build());
    }
    await("an unchanged answer", () -> d.status().answersUnchanged() > before.answersUnchanged());
    assertEquals(rebuildsBefore, rebuilds.get(), "an equal answer rebuilt the pool");
    assertEquals(before.answersApplied(), d.status().answersApplied());
    assertEquals(fingerprint, lb.selectionFingerprint("http"));

    // then one real change: one rebuild
    setEndpoints("web-a", ready("127.0.1.1"), ready("127.0.1.2"), ready("127.0.1.3"));
    awaitPool(Set.of("127.0.1.1:8080", "127.0.1.2:8080", "127.0.1.3:8080"));
    // onReconfigured runs after the new configuration is visible
    await("one rebuild", () -> rebuilds.get() == rebuildsBefore + 1);
    assertEquals(before.answersApplied() + 1, d.status().answersApplied());
  }

  @Test
  void apiServerLost_keepsLastGoodMembers_reportsFailing_thenCatchesUp() throws Exception {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1"), ready("127.0.1.2")));
    Discovery d = attach(source().build());
    awaitPool(Set.of("127.0.1.1:8080", "127.0.1.2:8080"));
    awaitWatching(attached);

    relay.cut();
    await("failing", () -> d.status().state() == DiscoveryStatus.State.FAILING);
    assertTrue(d.status().lastProblem().contains("watch"), d.status().lastProblem());
    assertEquals(Set.of("127.0.1.1:8080", "127.0.1.2:8080"), pool().keySet());
    assertTrue(lb.select(flow(1, 40000)).isSelected(), "the last good members still serve");

    // meanwhile the Service changes; the source learns it when it is back
    setEndpoints("web-a", ready("127.0.1.2"), ready("127.0.1.3"));
    relay.restore();
    awaitPool(Set.of("127.0.1.2:8080", "127.0.1.3:8080"));
    await("ok", () -> d.status().state() == DiscoveryStatus.State.OK);
    assertTrue(d.status().failures() >= 1);
  }

  @Test
  void apiServerUnreachableAtStart_failsWithoutAnswer_thenAnswers() throws Exception {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1")));
    relay.cut();
    RecordingListener l = new RecordingListener();
    KubernetesMembershipSource s = closeAtEnd(source().build());
    s.start(l);
    RecordingListener.Said first = l.next();
    assertNull(first.members(), "an answer before any list: " + first);
    relay.restore();
    assertEquals(List.of("127.0.1.1:8080"), ids(l.nextMembers()));
  }

  @Test
  void serviceWithoutEndpoints_emptyAnswer_refusedByTheDefaultGuard() {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1")));
    Discovery d = attach(source().build());
    awaitPool(Set.of("127.0.1.1:8080"));
    awaitWatching(attached);
    delete("web-a");
    await("refused", () -> d.status().state() == DiscoveryStatus.State.REFUSED);
    assertEquals(Set.of("127.0.1.1:8080"), pool().keySet());
    create(slice("web-b", "web", webPorts(), ready("127.0.1.5")));
    awaitPool(Set.of("127.0.1.5:8080"));
    assertEquals(DiscoveryStatus.State.OK, d.status().state());
  }

  @Test
  void close_stopsTheSourceThread_andTheWatch() throws Exception {
    create(slice("web-a", "web", webPorts(), ready("127.0.1.1")));
    RecordingListener l = new RecordingListener();
    KubernetesMembershipSource s = source().build();
    s.start(l);
    assertEquals(List.of("127.0.1.1:8080"), ids(l.nextMembers()));
    relay.cut(); // see closeAll()
    s.close();
    String thread = "lb4j-kubernetes-" + namespace + "/web";
    assertTrue(
        Thread.getAllStackTraces().keySet().stream()
            .noneMatch(t -> t.getName().equals(thread) && t.isAlive()),
        "the source's thread outlived close()");
    s.close(); // idempotent
    assertThrows(IllegalStateException.class, () -> s.start(l));
  }

  private static List<String> ids(List<Member> members) {
    return members.stream().map(Member::id).toList();
  }
}

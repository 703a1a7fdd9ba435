package io.lb4j.kubernetes;

import static io.lb4j.kubernetes.Slices.ready;
import static io.lb4j.kubernetes.Slices.slice;
import static io.lb4j.kubernetes.Slices.webPorts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import io.lb4j.discovery.MembershipSourceProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The {@code kubernetes} provider: its settings, their errors, and a source it makes from a
 * kubeconfig file that answers from fabric8's mock API server (CRUD mode, on 127.0.0.1).
 */
class KubernetesMembershipSourceProviderTest {
  private static MockApiServer api;
  private static final List<TcpRelay> RELAYS = new ArrayList<>(); // closed with the server
  private static final List<MembershipSource> SOURCES = new ArrayList<>(); // closed after it
  private TcpRelay relay; // this test's sources connect through it; see closeAll()

  private final KubernetesMembershipSourceProvider provider =
      new KubernetesMembershipSourceProvider();

  @TempDir Path dir;

  @BeforeAll
  static void startApiServer() throws IOException {
    api = new MockApiServer();
    try (KubernetesClient admin = api.newClient()) {
      admin
          .discovery()
          .v1()
          .endpointSlices()
          .inNamespace("shop")
          .resource(slice("web-a", "web", webPorts(), ready("127.0.1.1"), ready("127.0.1.2")))
          .create();
    }
  }

  /**
   * Stops the mock server first, then the sources: a source closed while the mock server serves its
   * watch can block the mock's event loop (see {@link TcpRelay}); one that loses the server only
   * retries until it is closed.
   */
  @AfterAll
  static void stopApiServer() {
    RELAYS.forEach(TcpRelay::cut);
    api.close();
    SOURCES.forEach(MembershipSource::close);
    RELAYS.forEach(TcpRelay::close);
  }

  @BeforeEach
  void newRelay() throws IOException {
    relay = new TcpRelay(api.port());
    RELAYS.add(relay);
  }

  private static Map<String, Object> settings(Object... keyValues) {
    Map<String, Object> m = new HashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put((String) keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  /** Writes a kubeconfig with context {@code mock} (the relay, namespace shop) and {@code off}. */
  private String kubeconfig(String current) throws IOException {
    Path file = dir.resolve("kubeconfig");
    Files.writeString(
        file,
        String.join(
            "\n",
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: mock",
            "  cluster: {server: '" + relay.url() + "'}",
            "- name: off",
            "  cluster: {server: 'http://127.0.0.1:1/'}",
            "contexts:",
            "- name: mock",
            "  context: {cluster: mock, user: tester, namespace: shop}",
            "- name: off",
            "  context: {cluster: off, user: tester, namespace: elsewhere}",
            "current-context: " + current,
            "users:",
            "- name: tester",
            "  user: {token: not-checked-by-the-mock}",
            ""));
    return file.toString();
  }

  private List<String> firstAnswer(MembershipSource source) throws InterruptedException {
    RecordingListener l = new RecordingListener();
    SOURCES.add(source);
    source.start(l);
    return l.nextMembers().stream().map(Member::id).toList();
  }

  @Test
  void create_startsNothing_closeBeforeStartWorks() throws Exception {
    MembershipSource s =
        provider.create(
            "web", settings("service", "web", "port", "http", "kubeconfig", kubeconfig("mock")));
    s.close(); // a configuration check closes what it made, unstarted
    s.close();
    assertThrows(IllegalStateException.class, () -> s.start(new RecordingListener()));
  }

  @Test
  void serviceLoader_findsTypeKubernetes() {
    boolean found = false;
    for (MembershipSourceProvider p : ServiceLoader.load(MembershipSourceProvider.class)) {
      if (p.type().equals("kubernetes")) {
        assertInstanceOf(KubernetesMembershipSourceProvider.class, p);
        found = true;
      }
    }
    assertTrue(found, "no provider of type kubernetes on the class path");
  }

  @Test
  void kubeconfig_itsCurrentContextsServerAndNamespace() throws Exception {
    MembershipSource s =
        provider.create(
            "web", settings("service", "web", "port", "http", "kubeconfig", kubeconfig("mock")));
    assertEquals(
        "kubernetes endpointslices of service 'web' in namespace 'shop' port 'http'", s.describe());
    assertEquals(List.of("127.0.1.1:8080", "127.0.1.2:8080"), firstAnswer(s));
  }

  @Test
  void context_choosesAnotherContextOfTheKubeconfig() throws Exception {
    MembershipSource s =
        provider.create(
            "web",
            settings(
                "service",
                "web",
                "port",
                8080,
                "kubeconfig",
                kubeconfig("off"),
                "context",
                "mock"));
    assertEquals(
        "kubernetes endpointslices of service 'web' in namespace 'shop' port 8080", s.describe());
    assertEquals(List.of("127.0.1.1:8080", "127.0.1.2:8080"), firstAnswer(s));
  }

  @Test
  void masterUrl_andNamespace_overrideTheKubeconfig() throws Exception {
    MembershipSource s =
        provider.create(
            "web",
            settings(
                "service", "web",
                "port", "8080",
                "namespace", "shop",
                "addressType", "ipv4",
                "kubeconfig", kubeconfig("off"),
                "masterUrl", relay.url()));
    assertEquals(
        "kubernetes endpointslices of service 'web' in namespace 'shop' port 8080 (IPv4 only)",
        s.describe());
    assertEquals(List.of("127.0.1.1:8080", "127.0.1.2:8080"), firstAnswer(s));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "no service | port=http | service: missing (expected: the Service's name)",
        "service Web | service=Web,port=http | service: 'Web' (expected: a Service name: at most 63"
            + " lowercase letters, digits and '-', starting with a letter and ending with a letter"
            + " or digit)",
        "no port | service=web | port: missing (expected: a port number 1-65535, or the name of a"
            + " Service port)",
        "port 0 | service=web,port=0 | port: 0 (expected: a port number 1-65535, or the name of a Service port)",
        "port 70000 | service=web,port=70000 | port: 70000 (expected: a port number 1-65535, or the"
            + " name of a Service port)",
        "port HTTP | service=web,port=HTTP | port: 'HTTP' (expected: a port number 1-65535, or the"
            + " name of one of the Service's ports: at most 63 lowercase letters, digits and '-')",
        "namespace | service=web,port=http,namespace=Shop | namespace: 'Shop' (expected: a"
            + " namespace: at most 63 lowercase letters, digits and '-', starting and ending with a"
            + " letter or digit)",
        "addressType | service=web,port=http,addressType=IPv5 | addressType: 'IPv5' (expected: IPv4"
            + " or IPv6)",
        "unknown | service=web,port=http,servce=api | servce: 'api' (expected: one of [addressType,"
            + " context, kubeconfig, masterUrl, namespace, port, service]; did you mean service?)",
        "masterUrl | service=web,port=http,masterUrl=ftp://x | masterUrl: 'ftp://x' (expected: the"
            + " API server's URL, https://host:port or http://host:port)",
        "kubeconfig | service=web,port=http,kubeconfig=/nonexistent/kubeconfig | kubeconfig:"
            + " '/nonexistent/kubeconfig' (expected: a readable kubeconfig file)",
      })
  void badSettings_sayWhichWhatAndWhatWasExpected(String name, String given, String message) {
    Map<String, Object> m = new HashMap<>();
    for (String kv : given.split(",")) {
      String[] p = kv.split("=", 2);
      m.put(p[0], p[1].matches("\\d+") ? (Object) Integer.valueOf(p[1]) : p[1]);
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> provider.create("web", m));
    assertEquals(message, e.getMessage());
  }

  @Test
  void badTypes_sayTheType() {
    IllegalArgumentException port =
        assertThrows(
            IllegalArgumentException.class,
            () -> provider.create("web", settings("service", "web", "port", true)));
    assertEquals(
        "port: true (a boolean; expected: a port number 1-65535, or the name of a Service port)",
        port.getMessage());
    IllegalArgumentException service =
        assertThrows(
            IllegalArgumentException.class,
            () -> provider.create("web", settings("service", List.of("web"), "port", "http")));
    assertEquals("service: [web] (a list; expected: a string)", service.getMessage());
  }

  @Test
  void context_notInTheKubeconfig() throws Exception {
    String file = kubeconfig("mock");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                provider.create(
                    "web",
                    settings(
                        "service", "web", "port", "http", "kubeconfig", file, "context", "prod")));
    assertTrue(
        e.getMessage().startsWith("kubeconfig: '" + file + "' context 'prod'"), e.getMessage());
  }
}

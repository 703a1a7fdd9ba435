package io.lb4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs in its own surefire execution, in a JVM whose name service is the hosts file {@code
 * src/test/resources/hosts-that-resolve} ({@code -Djdk.net.hosts.file}), where every name below
 * resolves to 127.0.0.9: a parser that looked a name up would accept it. lb4j refuses each one, so
 * none was looked up. ({@code zz:zz} went to {@code InetAddress.getByName} before: a colon made it
 * look like IPv6, and the JDK resolves what does not start with a hex digit.)
 */
class IpLiteralHostsFileTest {
  private static final String EXPECTED =
      " (expected: an IPv4 or IPv6 address literal, such as 192.0.2.1 or 2001:db8::1; names are"
          + " never resolved)";

  @BeforeAll
  static void theHostsFileResolvesTheNames() throws Exception {
    // the premise: in this JVM the names do resolve, so a lookup would have accepted them
    for (String name : new String[] {"lb4j-should-not-resolve", "zz:zz", "localhost"}) {
      assertEquals(
          "127.0.0.9",
          InetAddress.getByName(name).getHostAddress(),
          name + " through " + System.getProperty("jdk.net.hosts.file"));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"lb4j-should-not-resolve", "zz:zz", "localhost", "web.example"})
  void everyAddressField_nameThatWouldResolve_refusedNotResolved(String name) {
    assertEquals(
        "address: '" + name + "'" + EXPECTED,
        assertThrows(IllegalArgumentException.class, () -> Frontend.of("fe", name)).getMessage());
    assertEquals(
        "address: '" + name + "'" + EXPECTED,
        assertThrows(IllegalArgumentException.class, () -> Backend.of("web-1", name)).getMessage());
    assertEquals(
        "address: '" + name + "'" + EXPECTED,
        assertThrows(IllegalArgumentException.class, () -> Backend.of("web-1", name, 80))
            .getMessage());
    assertEquals(
        "address: '" + name + "'" + EXPECTED,
        assertThrows(IllegalArgumentException.class, () -> IpLiteral.parse(name)).getMessage());
  }
}

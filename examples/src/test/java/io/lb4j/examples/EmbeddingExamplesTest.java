package io.lb4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** Runs the embedding examples as a user would and checks what they print. */
@Isolated // swaps System.out
class EmbeddingExamplesTest {

  interface Main {
    void run() throws Exception;
  }

  private static String run(Main main) throws Exception {
    PrintStream saved = System.out;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    try {
      main.run();
    } finally {
      System.setOut(saved);
    }
    String out = bytes.toString(StandardCharsets.UTF_8);
    saved.print(out);
    return out;
  }

  @Test
  void shardedClient_keysStayOnTheirShard_andDisabledClosesTheConnection() throws Exception {
    String out = run(() -> ShardedClientExample.main(new String[0]));
    Matcher alice = Pattern.compile("  alice -> (shard-\\d) \\(lease").matcher(out);
    assertTrue(alice.find(), out);
    String shard = alice.group(1);
    assertTrue(out.contains("key \"alice\" in rule users"), out);
    assertTrue(out.contains("removing "), out);
    assertTrue(out.contains("  alice -> " + shard + "\n"), "alice stays after another's removal");
    assertTrue(out.contains(shard + " has 1 lease(s)"), out);
    assertTrue(out.contains("socket closed=true, reason: backend DISABLED"), out);
  }

  @Test
  void nettyClient_leastConnectionsOverLeases() throws Exception {
    String out = run(() -> NettyClientExample.main(new String[0]));
    for (int i = 0; i < 3; i++) {
      assertTrue(out.contains("cache-" + i + " holds 2 leases"), out);
    }
    assertTrue(out.contains("after close: 0 flows, cache-0 holds 0 leases"), out);
  }

  @Test
  void healthCheckedPool_retriesThenTakesTheDeadBackendOut() throws Exception {
    String out = run(() -> HealthCheckedPoolExample.main(new String[0]));
    String[] lines = out.split("\n");
    String last = null;
    for (String l : lines) {
      if (l.startsWith("new connections go to:")) {
        last = l;
      }
    }
    assertTrue(last != null && last.contains("web-1") && !last.contains("web-2"), out);
    assertTrue(out.contains("before its probe fails"), out);
  }
}

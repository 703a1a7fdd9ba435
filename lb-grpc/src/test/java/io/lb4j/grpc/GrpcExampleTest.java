package io.lb4j.grpc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The example runs against its real servers and prints what docs/embedding-grpc.md shows. */
class GrpcExampleTest {

  @Test
  void main_runs_onlyTheRemovedServersUsersMove() throws Exception {
    PrintStream out = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      GrpcExample.main(new String[0]);
    } finally {
      System.setOut(out);
    }
    String text = captured.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("user -> server: {user-0="), text);
    assertTrue(text.contains("key \"user-7\" in rule shop"), text);
    assertTrue(text.contains("RPCs without a key:"), text);
    for (String line : text.split("\n")) {
      if (line.startsWith("moved: ")) {
        assertTrue(line.matches("moved: user-\\d+ shop-2 -> shop-[13]"), line);
      }
    }
  }
}

package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class GoldenFlowsTest {

  @Test
  void lines_defaultSeed_equalCheckedInGoldenVectors() throws IOException {
    List<String> golden = new ArrayList<>();
    try (InputStream in = GoldenFlowsTest.class.getResourceAsStream("/golden/flows.tsv");
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        golden.add(line);
      }
    }
    List<String> now = GoldenFlows.lines(L4LoadBalancer.DEFAULT_SEED);
    assertEquals(GoldenFlows.FLOWS + 1, golden.size());
    for (int i = 0; i < now.size(); i++) {
      assertEquals(
          golden.get(i),
          now.get(i),
          "line " + (i + 1) + ": hashing changed; if deliberate, regenerate (see GoldenFlows)");
    }
  }

  @Test
  void lines_otherSeed_differ() {
    List<String> a = GoldenFlows.lines(L4LoadBalancer.DEFAULT_SEED);
    List<String> b = GoldenFlows.lines(L4LoadBalancer.DEFAULT_SEED + 1);
    int same = 0;
    for (int i = 1; i < a.size(); i++) {
      same += a.get(i).equals(b.get(i)) ? 1 : 0;
    }
    assertTrue(same < a.size() / 4, "seed barely matters: " + same + " identical lines");
  }

  @Test
  void lines_secondJvm_agreeWithThisOne() throws Exception {
    // Independent balancers agree without sharing state, as Maglev machines behind ECMP do.
    long seed = 1234567;
    String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                GoldenFlows.class.getName(),
                Long.toString(seed))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .directory(new File(System.getProperty("user.dir")))
            .start();
    List<String> other = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        other.add(line);
      }
    }
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "second JVM did not finish");
    assertEquals(0, p.exitValue());
    assertNotEquals(ProcessHandle.current().pid(), p.pid());
    assertEquals(GoldenFlows.lines(seed), other);
  }
}

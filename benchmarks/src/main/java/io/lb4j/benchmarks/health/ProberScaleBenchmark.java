package io.lb4j.benchmarks.health;

import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.IpLiteral;
import io.lb4j.ProbeOutcome;
import io.lb4j.core.health.HealthProber;
import io.lb4j.core.health.NioHealthChecker;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Probes many loopback targets with lb4j's prober and reports its CPU, threads, the lateness of
 * probes against their schedule, and false verdicts (every target listens, so every failure is
 * false).
 *
 * <pre>{@code
 * java -cp benchmarks/target/benchmarks.jar io.lb4j.benchmarks.health.ProberScaleBenchmark \
 *     TARGETS INTERVAL_SECONDS DURATION_SECONDS
 * }</pre>
 *
 * <p>The listeners run in helper processes ({@link ProbeTargets}, at most 9,000 each, below the
 * machine's open-file limit), so the CPU measured here is the prober's alone. Traffic goes to
 * 127.0.0.0/8 only; the run ends after its duration and stops its helpers.
 */
public final class ProberScaleBenchmark {
  private static final int PER_HELPER = 9000;

  private ProberScaleBenchmark() {}

  public static void main(String[] args) throws Exception {
    int targets = Integer.parseInt(args[0]);
    Duration interval = Duration.ofSeconds(Long.parseLong(args[1]));
    Duration duration = Duration.ofSeconds(Long.parseLong(args[2]));
    List<Process> helpers = new ArrayList<>();
    List<InetSocketAddress> addresses = new ArrayList<>();
    String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("java.class.path");
    try {
      for (int first = 0; first < targets; first += PER_HELPER) {
        int count = Math.min(PER_HELPER, targets - first);
        Process p =
            new ProcessBuilder(
                    java,
                    "-Xmx256m",
                    "-cp",
                    cp,
                    ProbeTargets.class.getName(),
                    Integer.toString(first),
                    Integer.toString(count),
                    Long.toString(duration.toSeconds() + 120))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .directory(new File("."))
                .start();
        helpers.add(p);
        BufferedReader r =
            new BufferedReader(
                new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
        for (String line = r.readLine(); !"READY".equals(line); line = r.readLine()) {
          if (line == null) {
            throw new IllegalStateException("helper exited before READY");
          }
          String[] parts = line.split(" ");
          addresses.add(
              new InetSocketAddress(IpLiteral.parse(parts[0]), Integer.parseInt(parts[1])));
        }
      }
      run(addresses, interval, duration);
    } finally {
      for (Process p : helpers) {
        p.getOutputStream().close();
        p.destroy();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Returns the CPU one thread spends on a plain blocking connect and close to these targets, the
   * floor any TCP prober pays (on loopback the kernel runs both ends of the handshake), averaged
   * over 20,000 connections after 5,000 to warm up.
   */
  private static long connectCloseCpuNanos(List<InetSocketAddress> addresses, ThreadMXBean threads)
      throws java.io.IOException {
    int warm = 5000;
    int measured = 20_000;
    long start = 0;
    for (int i = 0; i < warm + measured; i++) {
      if (i == warm) {
        start = threads.getCurrentThreadCpuTime();
      }
      try (java.net.Socket s = new java.net.Socket()) {
        s.connect(addresses.get(i % addresses.size()), 2000);
      }
    }
    return (threads.getCurrentThreadCpuTime() - start) / measured;
  }

  private static void run(List<InetSocketAddress> addresses, Duration interval, Duration duration)
      throws Exception {
    HealthProbe probe =
        HealthProbe.builder("scale")
            .interval(interval)
            .timeout(
                interval.compareTo(Duration.ofSeconds(2)) < 0 ? interval : Duration.ofSeconds(2))
            .build();
    Map<ProbeOutcome, Long> outcomes = new EnumMap<>(ProbeOutcome.class);
    List<String> transitions = new ArrayList<>();
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "lb4j-probe-scheduler");
              t.setDaemon(true);
              return t;
            });
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long baseline = connectCloseCpuNanos(addresses, threads);
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    int threadsBefore = threads.getThreadCount();
    try (NioHealthChecker checker = new NioHealthChecker()) {
      HealthProber prober =
          HealthProber.builder()
              .checker(checker)
              .scheduler(scheduler)
              .listener(
                  (t, r, before, after) -> {
                    synchronized (outcomes) {
                      if (!r.isSuccess()) {
                        outcomes.merge(r.outcome(), 1L, Long::sum);
                      }
                      if (after == HealthState.UNHEALTHY) {
                        transitions.add(t + " " + r);
                      }
                    }
                  })
              .build();
      List<HealthProber.Target> all = new ArrayList<>();
      for (InetSocketAddress a : addresses) {
        all.add(prober.add(a, probe));
      }
      long cpu0 = os.getProcessCpuTime();
      long wall0 = System.nanoTime();
      prober.start();
      long end = wall0 + duration.toNanos();
      while (System.nanoTime() < end) {
        Thread.sleep(Math.min(1000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
      }
      long cpu = os.getProcessCpuTime() - cpu0;
      long wall = System.nanoTime() - wall0;
      long proberCpu = 0;
      long proberUser = 0;
      for (ThreadInfo ti : threads.getThreadInfo(threads.getAllThreadIds())) {
        if (ti != null && ti.getThreadName().startsWith("lb4j-probe")) {
          proberCpu += threads.getThreadCpuTime(ti.getThreadId());
          proberUser += threads.getThreadUserTime(ti.getThreadId());
        }
      }
      int threadsDuring = threads.getThreadCount();
      System.out.printf(
          "baseline, same run: a blocking connect + close from one thread costs %.1f us CPU%n",
          baseline / 1e3);
      io.lb4j.ProberStats stats = prober.stats();
      long unhealthy = all.stream().filter(t -> t.state() == HealthState.UNHEALTHY).count();
      prober.close();
      long failures = stats.failures();
      System.out.printf(
          "targets %d, interval %s, %d s, %d probes (%.0f/s)%n",
          addresses.size(),
          interval,
          duration.toSeconds(),
          stats.completed(),
          stats.completed() / (wall / 1e9));
      System.out.printf(
          "process CPU %.1f%% of one core; prober threads (I/O + scheduler) %.1f%%"
              + " (user %.1f%%, kernel %.1f%%); %.1f us CPU per probe%n",
          100.0 * cpu / wall,
          100.0 * proberCpu / wall,
          100.0 * proberUser / wall,
          100.0 * (proberCpu - proberUser) / wall,
          proberCpu / 1e3 / Math.max(1, stats.completed()));
      System.out.printf(
          "prober CPU per probe / baseline connect+close: %.2f%n",
          (double) proberCpu / Math.max(1, stats.completed()) / baseline);
      System.out.printf(
          "threads: %d before the prober, %d while probing%n", threadsBefore, threadsDuring);
      System.out.printf(
          "lateness against schedule: p50 <= %.1f ms, p99 <= %.1f ms, max %.1f ms%n",
          stats.latenessP50().toNanos() / 1e6,
          stats.latenessP99().toNanos() / 1e6,
          stats.latenessMax().toNanos() / 1e6);
      System.out.printf(
          "false verdicts: %d failed probes, %d HEALTHY -> UNHEALTHY transitions %s,"
              + " %d targets unhealthy at the end%n",
          failures, transitions.size(), outcomes, unhealthy);
    } finally {
      scheduler.shutdownNow();
    }
  }
}

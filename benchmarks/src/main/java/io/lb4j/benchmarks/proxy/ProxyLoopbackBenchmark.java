package io.lb4j.benchmarks.proxy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * lb4j's standalone proxy against a direct connection, on loopback, in one run: bulk throughput (1
 * and 4 streams to a discard server) and new connections per second (connect, 1-byte ping, close).
 * Rounds alternate direct and proxied; the medians and their ratio are printed.
 *
 * <pre>{@code
 * java -cp benchmarks/target/benchmarks.jar io.lb4j.benchmarks.proxy.ProxyLoopbackBenchmark \
 *     lb-proxy/target/lb4j-proxy.jar [rounds] [seconds]
 * }</pre>
 *
 * <p>The proxy runs in its own JVM (pinned to CPU 1 with {@code taskset} when it exists); servers
 * and clients run here. Traffic goes to 127.0.0.0/8 only and every phase is bounded in time.
 */
public final class ProxyLoopbackBenchmark {
  private static final int CHUNK = 64 * 1024;

  private ProxyLoopbackBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path jar = Path.of(args[0]);
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    try (Servers servers = new Servers()) {
      int bulkPort = freePort();
      int pingPort = freePort();
      Path config = Files.createTempFile("lb4j-bench", ".yaml");
      Files.writeString(
          config,
          String.join(
              "\n",
              "frontends: [ { name: fe, address: 127.0.0.1 } ]",
              "backendPools:",
              "  - { name: sink, backends: [ { id: sink, address: 127.0.0.2, port: "
                  + servers.discard.getLocalPort()
                  + " } ] }",
              "  - { name: ping, backends: [ { id: ping, address: 127.0.0.2, port: "
                  + servers.ping.getLocalPort()
                  + " } ] }",
              "loadBalancingRules:",
              "  - { name: bulk, frontend: fe, frontendPort: " + bulkPort + ", backendPool: sink }",
              "  - { name: conn, frontend: fe, frontendPort: " + pingPort + ", backendPool: ping }",
              "admin: { enabled: false }",
              "proxy: { ioThreads: 1 }",
              ""));
      List<String> cmd = new ArrayList<>();
      if (Files.isExecutable(Path.of("/usr/bin/taskset"))) {
        cmd.addAll(List.of("/usr/bin/taskset", "-c", "1"));
      }
      cmd.addAll(
          List.of(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "-Xms512m",
              "-Xmx512m",
              "-jar",
              jar.toString(),
              "--config",
              config.toString()));
      Process proxy = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      try {
        BufferedReader out =
            new BufferedReader(
                new InputStreamReader(proxy.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        for (int skipped = 0;
            line != null && !line.startsWith("lb4j proxy listening") && skipped < 100;
            skipped++) {
          line = out.readLine(); // its log lines come first
        }
        if (line == null || !line.startsWith("lb4j proxy listening")) {
          throw new IllegalStateException("proxy did not start: " + line);
        }
        Thread drainOut =
            new Thread(
                () -> {
                  try {
                    while (out.readLine() != null) {
                      // discard the proxy's output
                    }
                  } catch (IOException e) {
                    // proxy gone
                  }
                });
        drainOut.setDaemon(true);
        drainOut.start();
        InetSocketAddress directBulk =
            new InetSocketAddress("127.0.0.2", servers.discard.getLocalPort());
        InetSocketAddress proxiedBulk = new InetSocketAddress("127.0.0.1", bulkPort);
        InetSocketAddress directPing =
            new InetSocketAddress("127.0.0.2", servers.ping.getLocalPort());
        InetSocketAddress proxiedPing = new InetSocketAddress("127.0.0.1", pingPort);
        // warm-up: the JIT of both JVMs
        bulk(proxiedBulk, 1, 3);
        connections(proxiedPing, 8, 3);
        double[][] r = new double[6][rounds];
        for (int i = 0; i < rounds; i++) {
          r[0][i] = bulk(directBulk, 1, seconds);
          r[1][i] = bulk(proxiedBulk, 1, seconds);
          r[2][i] = bulk(directBulk, 4, seconds);
          r[3][i] = bulk(proxiedBulk, 4, seconds);
          r[4][i] = connections(directPing, 8, seconds);
          r[5][i] = connections(proxiedPing, 8, seconds);
        }
        System.out.printf(
            "%-34s %12s %12s %8s%n",
            "test (median of " + rounds + " rounds)", "direct", "lb4j proxy", "ratio");
        print("bulk, 1 stream (Gbit/s)", r[0], r[1]);
        print("bulk, 4 streams (Gbit/s)", r[2], r[3]);
        print("new connections/s (8 clients)", r[4], r[5]);
      } finally {
        proxy.toHandle().destroy();
        proxy.waitFor(30, TimeUnit.SECONDS);
        proxy.destroyForcibly();
        Files.deleteIfExists(config);
      }
    }
  }

  private static void print(String name, double[] direct, double[] proxied) {
    double d = median(direct);
    double p = median(proxied);
    System.out.printf(
        "%-34s %12.2f %12.2f %8.2f   rounds: direct %s, proxy %s%n",
        name, d, p, p / d, Arrays.toString(round(direct)), Arrays.toString(round(proxied)));
  }

  private static double[] round(double[] v) {
    double[] out = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = Math.round(v[i] * 100) / 100.0;
    }
    return out;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  /** Streams to the discard server for {@code seconds}; returns Gbit/s over all streams. */
  private static double bulk(InetSocketAddress to, int streams, int seconds) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(streams);
    AtomicLong bytes = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int s = 0; s < streams; s++) {
        fs.add(
            pool.submit(
                () -> {
                  try (SocketChannel c = SocketChannel.open(to)) {
                    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
                    long n = 0;
                    while (System.nanoTime() < end) {
                      buf.clear();
                      n += c.write(buf);
                    }
                    bytes.addAndGet(n);
                  }
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        f.get(seconds + 30L, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    return bytes.get() * 8 / 1e9 / seconds;
  }

  /** Opens, pings and closes connections from {@code clients} threads; returns connections/s. */
  private static double connections(InetSocketAddress to, int clients, int seconds)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    AtomicLong done = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        fs.add(
            pool.submit(
                () -> {
                  while (System.nanoTime() < end) {
                    try (Socket s = new Socket()) {
                      s.setSoTimeout(5000);
                      s.connect(to, 5000);
                      s.getOutputStream().write(1);
                      if (s.getInputStream().read() == 1) {
                        done.incrementAndGet();
                      } else {
                        failed.incrementAndGet();
                      }
                    } catch (IOException e) {
                      failed.incrementAndGet();
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        f.get(seconds + 30L, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    if (failed.get() > 0) {
      System.out.println("  (" + failed.get() + " failed connections to " + to + ")");
    }
    return done.get() / ((System.nanoTime() - start) / 1e9);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  /** A discard server and a 1-byte ping server on 127.0.0.2, one thread per connection. */
  private static final class Servers implements AutoCloseable {
    final ServerSocket discard;
    final ServerSocket ping;
    private final AtomicBoolean open = new AtomicBoolean(true);

    Servers() throws IOException {
      discard = new ServerSocket(0, 1024, InetAddress.getByName("127.0.0.2"));
      ping = new ServerSocket(0, 1024, InetAddress.getByName("127.0.0.2"));
      start(
          discard,
          s -> {
            byte[] buf = new byte[CHUNK];
            while (s.getInputStream().read(buf) > 0) {
              // discard
            }
          });
      start(
          ping,
          s -> {
            int b = s.getInputStream().read();
            if (b >= 0) {
              s.getOutputStream().write(b);
            }
          });
    }

    private interface Serve {
      void serve(Socket s) throws IOException;
    }

    private void start(ServerSocket ss, Serve serve) {
      Thread t =
          new Thread(
              () -> {
                while (open.get()) {
                  try {
                    Socket s = ss.accept();
                    Thread c =
                        new Thread(
                            () -> {
                              try (s) {
                                serve.serve(s);
                              } catch (IOException e) {
                                // client gone
                              }
                            });
                    c.setDaemon(true);
                    c.start();
                  } catch (IOException e) {
                    return;
                  }
                }
              });
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void close() throws IOException {
      open.set(false);
      discard.close();
      ping.close();
    }
  }
}

package io.lb4j.benchmarks;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionPolicy;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.connect.LeasedSocket;
import io.lb4j.core.L4LoadBalancer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A balanced connect as a {@code javax.net.SocketFactory} driver makes it — {@code
 * connector.unconnectedSocket()}, then {@code connect(ignored, 0)}: lease, connect within the
 * connector's timeout, report the success — then close (socket and lease), next to a plain {@code
 * new Socket().connect(server)} then close, against the same loopback server: one thread on
 * 127.0.0.2 (port from the OS) that accepts each connection and closes it. Also the plain connect
 * with a timeout, as the connector and most drivers call it ({@code connect(addr, 5000)}: the JDK
 * then connects non-blocking and polls).
 *
 * <p>Both variants close with {@code SO_LINGER} 0 (set before connecting; the balanced socket
 * applies it to its attempt), and so does the server, so every close is an RST and no connection is
 * left in TIME_WAIT on either side: the benchmark can run any number of connects without exhausting
 * loopback's ephemeral ports, and neither variant pays a FIN handshake the other does not.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar ConnectBenchmark -prof gc}</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class ConnectBenchmark {
  private static final String HOST = "127.0.0.2";
  private static final String RULE = "db";

  private ServerSocket server;
  private Thread acceptor;
  private InetSocketAddress address;
  private L4LoadBalancer lb;
  private BalancedConnector connector;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    server = new ServerSocket();
    server.bind(new InetSocketAddress(HOST, 0), 4096);
    address = new InetSocketAddress(HOST, server.getLocalPort());
    acceptor =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try {
                  server.accept().close();
                } catch (IOException e) {
                  // closed by tearDown, or a connection reset before its accept: go on
                }
              }
            },
            "accept-and-close");
    acceptor.setDaemon(true);
    acceptor.start();
    lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("fe", "127.0.0.1"))
                    .pool(BackendPool.of("pool", Backend.of("server", HOST, address.getPort())))
                    .rule(
                        LoadBalancingRule.builder(RULE)
                            .frontend("fe")
                            .frontendPort(5432)
                            .backendPool("pool")
                            .selection(SelectionPolicy.maglev())
                            .build())
                    .build())
            .build();
    connector = BalancedConnector.builder(lb, RULE).build();
    try (LeasedSocket s = connector.unconnectedSocket()) {
      s.connect(null, 0);
      if (!address.equals(s.getRemoteSocketAddress())) {
        throw new IllegalStateException("setup: connected to " + s.getRemoteSocketAddress());
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    server.close();
    acceptor.join(5000);
    if (lb.activeFlows(RULE, "server") != 0) {
      throw new IllegalStateException("leases left: " + lb.activeFlows(RULE, "server"));
    }
    lb.close();
  }

  /** The reference: a plain blocking connect (no timeout) to the server, then close. */
  @Benchmark
  public Socket plainConnect() throws IOException {
    Socket s = new Socket();
    s.setSoLinger(true, 0);
    s.connect(address);
    s.close();
    return s;
  }

  /** A plain connect with a timeout, as the connector makes its own attempt, then close. */
  @Benchmark
  public Socket plainConnectWithTimeout() throws IOException {
    Socket s = new Socket();
    s.setSoLinger(true, 0);
    s.connect(address, 5000);
    s.close();
    return s;
  }

  /** The socket factory's connect: lease, connect with the timeout, report; then close both. */
  @Benchmark
  public Socket balancedConnect() throws IOException {
    LeasedSocket s = connector.unconnectedSocket();
    s.setSoLinger(true, 0);
    s.connect(null, 0);
    s.close();
    return s;
  }
}

package io.lb4j.benchmarks.health;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * A helper process for {@link ProberScaleBenchmark}: listens on {@code count} loopback addresses
 * 127.x.y.z (each on a port from the OS), prints them, and accepts and closes every connection on
 * one thread until its standard input closes or {@code maxSeconds} pass.
 *
 * <pre>
 * {@code java -cp benchmarks.jar io.lb4j.benchmarks.health.ProbeTargets FIRST COUNT MAXSECONDS}
 * </pre>
 */
public final class ProbeTargets {
  private ProbeTargets() {}

  /**
   * Returns the loopback address of target {@code i}: 127.(10 + i/62500).(i/250 % 250).(1 + i %
   * 250).
   */
  static InetAddress address(int i) throws IOException {
    return InetAddress.getByAddress(
        new byte[] {127, (byte) (10 + i / 62500), (byte) (i / 250 % 250), (byte) (1 + i % 250)});
  }

  public static void main(String[] args) throws IOException {
    int first = Integer.parseInt(args[0]);
    int count = Integer.parseInt(args[1]);
    long deadline = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000_000L;
    Selector selector = Selector.open();
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.US_ASCII);
    for (int i = first; i < first + count; i++) {
      ServerSocketChannel ss = ServerSocketChannel.open();
      ss.bind(new InetSocketAddress(address(i), 0), 4096);
      ss.configureBlocking(false);
      ss.register(selector, SelectionKey.OP_ACCEPT);
      InetSocketAddress a = (InetSocketAddress) ss.getLocalAddress();
      out.println(a.getAddress().getHostAddress() + " " + a.getPort());
    }
    out.println("READY");
    out.flush();
    Thread watchdog =
        new Thread(
            () -> {
              try {
                while (System.in.read() >= 0) {
                  // wait for the parent to close our stdin
                }
              } catch (IOException e) {
                // parent gone
              }
              System.exit(0);
            });
    watchdog.setDaemon(true);
    watchdog.start();
    while (System.nanoTime() < deadline) {
      selector.select(1000);
      for (SelectionKey key : selector.selectedKeys()) {
        SocketChannel c;
        while ((c = ((ServerSocketChannel) key.channel()).accept()) != null) {
          c.close();
        }
      }
      selector.selectedKeys().clear();
    }
  }
}

package io.lb4j.examples;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionPolicy;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.connect.LeasedSocket;
import io.lb4j.core.L4LoadBalancer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A service's own outgoing connections, balanced by application key: three "shard" servers on
 * 127.0.0.2-.4; each user's connections go to the user's shard, held by a lease for the life of the
 * connection; one shard is removed and only its users move; a shard set DISABLED has its open
 * connection closed by the balancer.
 *
 * <p>Run: {@code java -cp examples/target/lb4j-examples.jar io.lb4j.examples.ShardedClientExample}
 */
public final class ShardedClientExample {
  public static void main(String[] args) throws Exception {
    List<ServerSocket> servers = new ArrayList<>();
    List<Backend> shards = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      String address = "127.0.0." + (2 + i);
      ServerSocket server = greeter(address, "shard-" + i);
      servers.add(server);
      shards.add(Backend.of("shard-" + i, address, server.getLocalPort()));
    }
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("users", "127.0.0.1")) // the service's name for the rule
            .pool(new BackendPool("shards", shards))
            .rule(
                LoadBalancingRule.builder("users")
                    .frontend("users")
                    .frontendPort(7000)
                    .backendPool("shards")
                    .backendPort(7000)
                    .selection(SelectionPolicy.maglev().withBoundedLoad(1.25))
                    .build())
            .build();
    try (L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build()) {
      BalancedConnector users = BalancedConnector.builder(lb, "users").build();

      System.out.println("each user's connection goes to the user's shard:");
      for (String user : List.of("alice", "bob", "carol", "dave")) {
        try (LeasedSocket s = users.connect(user)) {
          System.out.println("  " + user + " -> " + readLine(s) + " (lease " + s.lease() + ")");
        }
      }

      System.out.println(lb.explainKey("users", "alice"));

      String aliceShard = lb.pickByKey("users", "alice").backend().id();
      String other = aliceShard.equals("shard-0") ? "shard-1" : "shard-0";
      System.out.println("removing " + other + ": alice stays on " + aliceShard);
      lb.removeBackend("shards", other);
      try (LeasedSocket s = users.connect("alice")) {
        System.out.println("  alice -> " + readLine(s));
      }

      LeasedSocket held = users.connect("alice");
      readLine(held);
      System.out.println(
          "alice holds a connection; "
              + aliceShard
              + " has "
              + lb.activeFlows("users", aliceShard)
              + " lease(s)");
      lb.setAdminState("shards", aliceShard, AdminState.DISABLED);
      System.out.println(
          "after DISABLED: socket closed="
              + held.isClosed()
              + ", reason: "
              + held.endReason()
              + "; alice now -> "
              + lb.pickByKey("users", "alice").backend().id());
    } finally {
      for (ServerSocket s : servers) {
        s.close();
      }
    }
  }

  private static String readLine(Socket s) throws IOException {
    s.setSoTimeout(5000);
    return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
        .readLine();
  }

  /** A server that greets each connection with its name, on daemon threads. */
  static ServerSocket greeter(String address, String name) throws IOException {
    ServerSocket ss = new ServerSocket();
    ss.bind(new InetSocketAddress(address, 0));
    Thread t =
        new Thread(
            () -> {
              while (!ss.isClosed()) {
                try {
                  Socket s = ss.accept();
                  OutputStream out = s.getOutputStream();
                  out.write((name + "\n").getBytes(StandardCharsets.US_ASCII));
                  out.flush();
                  Thread r =
                      new Thread(
                          () -> {
                            try (s) {
                              while (s.getInputStream().read() >= 0) {
                                // hold until the client closes
                              }
                            } catch (IOException e) {
                              // the client went away
                            }
                          });
                  r.setDaemon(true);
                  r.start();
                } catch (IOException e) {
                  return; // closed
                }
              }
            },
            "greeter-" + name);
    t.setDaemon(true);
    t.start();
    return ss;
  }
}

package io.lb4j.jdbc;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionPolicy;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.core.L4LoadBalancer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * pgjdbc through lb4j: PostgreSQL servers behind one rule; each tenant's connections go to the
 * tenant's server (the key is a connection property), a held connection counts as a lease, and
 * removing a server moves its tenants and, Maglev being a consistent hash, next to no others.
 * Public API only: lb-core, lb-jdbc and the driver.
 *
 * <p>Run against servers of your own (user {@code postgres}, or {@code -Dpg.user=...
 * -Dpg.password=...}):
 *
 * <pre>
 * java -cp ... io.lb4j.jdbc.JdbcExample 127.0.0.2:5432 127.0.0.3:5432 127.0.0.4:5432
 * </pre>
 *
 * <p>{@code PgjdbcBalancingTest} runs it against the servers it starts.
 */
public final class JdbcExample {
  private JdbcExample() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.out.println("usage: JdbcExample <ip>:<port> ... (PostgreSQL servers)");
      return;
    }
    List<Backend> servers = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      int colon = args[i].lastIndexOf(':');
      servers.add(
          Backend.of(
              "pg-" + i,
              args[i].substring(0, colon),
              Integer.parseInt(args[i].substring(colon + 1))));
    }
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("orders", "127.0.0.1")) // the service's name for the rule
            .pool(new BackendPool("replicas", servers))
            .probe(
                HealthProbe.builder("tcp")
                    .interval(Duration.ofSeconds(1))
                    .timeout(Duration.ofMillis(500))
                    .initialState(HealthState.HEALTHY) // connect at once, before the probe
                    .build())
            .rule(
                LoadBalancingRule.builder("orders")
                    .frontend("orders")
                    .frontendPort(5432)
                    .backendPool("replicas")
                    .probe("tcp")
                    .selection(SelectionPolicy.maglev())
                    .build())
            .build();

    try (L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build();
        BalancedSocketFactory.Registration registration =
            BalancedSocketFactory.register(
                "orders",
                BalancedConnector.builder(lb, "orders")
                    .connectTimeout(Duration.ofSeconds(2))
                    .build())) {
      // The host "orders" is a placeholder: the rule chooses the server.
      String url =
          "jdbc:postgresql://orders/postgres"
              + "?socketFactory=io.lb4j.jdbc.BalancedSocketFactory"
              + "&socketFactoryArg="
              + registration.name();

      List<String> tenants = List.of("tenant-1", "tenant-2", "tenant-3", "tenant-4", "tenant-5");
      System.out.println("each tenant's connection goes to the tenant's server:");
      for (String tenant : tenants) {
        try (Connection c = DriverManager.getConnection(url, properties(tenant))) {
          System.out.println(
              "  "
                  + tenant
                  + " -> "
                  + server(c)
                  + " ("
                  + lb.pickByKey("orders", tenant).backend().id()
                  + ")");
        }
      }

      try (Connection held = DriverManager.getConnection(url, properties("tenant-1"))) {
        String backend = lb.pickByKey("orders", "tenant-1").backend().id();
        System.out.println(
            "tenant-1 holds a connection: "
                + backend
                + " has "
                + lb.activeFlows("orders", backend)
                + " lease(s)");
        server(held);
      }

      String removed = lb.pickByKey("orders", "tenant-2").backend().id();
      lb.removeBackend("replicas", removed);
      System.out.println("removed " + removed + " (tenant-2's server); the others stay:");
      for (String tenant : tenants) {
        try (Connection c = DriverManager.getConnection(url, properties(tenant))) {
          System.out.println(
              "  "
                  + tenant
                  + " -> "
                  + server(c)
                  + " ("
                  + lb.pickByKey("orders", tenant).backend().id()
                  + ")");
        }
      }
    }
  }

  /** The connection's properties: the user and the tenant as its lb4j key. */
  private static Properties properties(String tenant) {
    Properties p = new Properties();
    p.setProperty("user", System.getProperty("pg.user", "postgres"));
    String password = System.getProperty("pg.password");
    if (password != null) {
      p.setProperty("password", password);
    }
    p.setProperty(BalancedSocketFactory.KEY_PROPERTY, tenant);
    return p;
  }

  /** Asks the server which address answered. */
  private static String server(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select host(inet_server_addr())")) {
      rs.next();
      return rs.getString(1);
    }
  }
}

package io.lb4j.grpc;

import io.grpc.CallOptions;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.L4LoadBalancer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Three real gRPC servers on 127.0.0.2-4; a channel balanced by lb4j sends each user's RPCs to one
 * server (Maglev with bounded load), RPCs without a key are spread by a random hash (a round-robin
 * rule would rotate them), and removing a server moves only its users — no channel restart.
 *
 * <p>The service is written without protoc ({@code example.Shop/Whoami}, strings as messages); with
 * generated stubs the same key goes in {@code stub.withOption(Lb4jGrpc.KEY, user)}.
 */
public final class GrpcExample {

  static final MethodDescriptor<String, String> WHOAMI =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("example.Shop/Whoami")
          .setRequestMarshaller(new Utf8())
          .setResponseMarshaller(new Utf8())
          .build();

  public static void main(String[] args) throws Exception {
    List<Server> servers = new ArrayList<>();
    List<Backend> backends = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String name = "shop-" + i;
      String ip = "127.0.0." + (i + 1);
      Server server = serve(name, ip);
      servers.add(server);
      backends.add(Backend.of(name, ip, server.getPort()));
    }
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("grpc", "127.0.0.1"))
            .pool(new BackendPool("shop", backends))
            .rule(
                LoadBalancingRule.builder("shop")
                    .frontend("grpc")
                    .frontendPort(443) // a client-side rule: nothing listens here
                    .backendPool("shop")
                    .selection(SelectionPolicy.maglev().withBoundedLoad())
                    .build())
            .build();

    try (L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build()) {
      ManagedChannel channel =
          Lb4jGrpc.newChannelBuilder(lb, "shop", InsecureChannelCredentials.create()).build();
      try {
        Map<String, String> before = usersToServers(channel);
        System.out.println("user -> server: " + before);
        System.out.println(lb.explainKey("shop", "user-7"));

        StringBuilder unkeyed = new StringBuilder("RPCs without a key:");
        for (int i = 0; i < 6; i++) {
          unkeyed.append(' ').append(call(channel, CallOptions.DEFAULT));
        }
        System.out.println(unkeyed);

        lb.removeBackend("shop", "shop-2");
        Map<String, String> after = usersToServers(channel);
        for (Map.Entry<String, String> e : before.entrySet()) {
          String now = after.get(e.getKey());
          if (!now.equals(e.getValue())) {
            System.out.println("moved: " + e.getKey() + " " + e.getValue() + " -> " + now);
          }
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      for (Server s : servers) {
        s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static Map<String, String> usersToServers(ManagedChannel channel) {
    Map<String, String> serverOf = new LinkedHashMap<>();
    for (int u = 0; u < 10; u++) {
      String user = "user-" + u;
      serverOf.put(user, call(channel, CallOptions.DEFAULT.withOption(Lb4jGrpc.KEY, user)));
    }
    return serverOf;
  }

  private static String call(ManagedChannel channel, CallOptions options) {
    return ClientCalls.blockingUnaryCall(
        channel, WHOAMI, options.withDeadlineAfter(5, TimeUnit.SECONDS), "");
  }

  /** A server on {@code ip} (a literal, never a name), port from the OS, answering its name. */
  private static Server serve(String name, String ip) throws IOException {
    return NettyServerBuilder.forAddress(new InetSocketAddress(IpLiteral.parse(ip), 0))
        .addService(
            ServerServiceDefinition.builder("example.Shop")
                .addMethod(
                    WHOAMI,
                    ServerCalls.asyncUnaryCall(
                        (request, response) -> {
                          response.onNext(name);
                          response.onCompleted();
                        }))
                .build())
        .build()
        .start();
  }

  /** Strings as UTF-8 messages. */
  private static final class Utf8 implements MethodDescriptor.Marshaller<String> {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}

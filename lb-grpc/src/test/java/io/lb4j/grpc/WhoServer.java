package io.lb4j.grpc;

import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.lb4j.Backend;
import io.lb4j.IpLiteral;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real gRPC server (Netty transport, {@code grpc-netty-shaded}) on a loopback address and a port
 * from the OS, serving a service defined without protoc: {@code lb4j.test.Who/Name} answers the
 * server's name; {@code lb4j.test.Who/Hold} answers it only when the test releases the held calls,
 * so RPCs stay in flight as long as a test needs.
 */
final class WhoServer implements AutoCloseable {

  static final String SERVICE = "lb4j.test.Who";

  /** UTF-8 strings as messages. */
  static final MethodDescriptor.Marshaller<String> UTF8 =
      new MethodDescriptor.Marshaller<>() {
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
      };

  static final MethodDescriptor<String, String> NAME = method("Name");
  static final MethodDescriptor<String, String> HOLD = method("Hold");

  final String name;
  final String ip;
  private final Server server;
  private final AtomicInteger calls = new AtomicInteger();
  private final BlockingQueue<StreamObserver<String>> held = new LinkedBlockingQueue<>();

  private WhoServer(String name, String ip) throws IOException {
    this.name = name;
    this.ip = ip;
    ServerServiceDefinition service =
        ServerServiceDefinition.builder(SERVICE)
            .addMethod(
                NAME,
                ServerCalls.asyncUnaryCall(
                    (request, response) -> {
                      calls.incrementAndGet();
                      response.onNext(name);
                      response.onCompleted();
                    }))
            .addMethod(
                HOLD,
                ServerCalls.asyncUnaryCall(
                    (request, response) -> {
                      calls.incrementAndGet();
                      held.add(response);
                    }))
            .build();
    this.server =
        NettyServerBuilder.forAddress(new InetSocketAddress(IpLiteral.parse(ip), 0))
            .directExecutor() // the handlers never block
            .addService(service)
            .build()
            .start();
  }

  /** Starts a server named {@code name} on {@code ip} (127.0.0.x), port from the OS. */
  static WhoServer start(String name, String ip) throws IOException {
    return new WhoServer(name, ip);
  }

  private static MethodDescriptor<String, String> method(String name) {
    return MethodDescriptor.<String, String>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(UTF8)
        .setResponseMarshaller(UTF8)
        .build();
  }

  int port() {
    return server.getPort();
  }

  /** Returns the lb4j backend of this server: id = name, its address and port. */
  Backend backend() {
    return Backend.of(name, ip, port());
  }

  /** Returns how many calls (both methods) reached this server. */
  int calls() {
    return calls.get();
  }

  /** Returns how many Hold calls are held now. */
  int held() {
    return held.size();
  }

  /** Answers every held call. */
  void releaseHeld() {
    for (StreamObserver<String> r; (r = held.poll()) != null; ) {
      r.onNext(name);
      r.onCompleted();
    }
  }

  /** Stops the server at once: connections are closed, new ones refused. */
  void stop() {
    server.shutdownNow();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        throw new IllegalStateException(name + " did not stop within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted stopping " + name, e);
    }
  }

  @Override
  public void close() {
    if (!server.isTerminated()) {
      stop();
    }
  }

  @Override
  public String toString() {
    return name + "@" + ip + ":" + server.getPort();
  }
}

package io.lb4j.grpc;

import static io.lb4j.grpc.GrpcFixture.RULE;
import static io.lb4j.grpc.GrpcFixture.who;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Per-key RPCs land on one real server: the one lb4j's selector picks for the key. */
class KeyRoutingTest {

  private final GrpcFixture fixture = new GrpcFixture();

  @AfterEach
  void tearDown() {
    fixture.close();
  }

  @Test
  void rpc_keyInCallOptions_everyRpcOfTheKeyOnLb4jsPick() throws Exception {
    List<WhoServer> servers = fixture.startServers(4);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers));
    ManagedChannel channel = fixture.channel();

    Map<String, String> serverOf = new HashMap<>();
    for (int round = 0; round < 3; round++) {
      for (int k = 0; k < 200; k++) {
        String key = "user-" + k;
        String answer = who(channel, CallOptions.DEFAULT.withOption(Lb4jGrpc.KEY, key));
        String before = serverOf.putIfAbsent(key, answer);
        assertEquals(before == null ? answer : before, answer, key + " moved in round " + round);
        assertEquals(fixture.lb.pickByKey(RULE, key).backend().id(), answer, key);
      }
    }
    assertEquals(4, new HashSet<>(serverOf.values()).size(), "200 keys over 4 servers");
  }

  @Test
  void rpc_keyInDefaultHeader_landsWhereTheSameKeyInCallOptionsDoes() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.ringHash(100), servers));
    ManagedChannel channel = fixture.channel();

    for (int k = 0; k < 100; k++) {
      String key = "session-" + k;
      assertEquals(who(channel, key), who(withHeader(channel, "x-lb4j-key", key)), key);
    }
  }

  @Test
  void rpc_keyInConfiguredHeader_usesThatHeaderOnly() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers));
    ManagedChannel channel =
        fixture.track(
            Lb4jGrpc.newChannelBuilder(fixture.lb, RULE, InsecureChannelCredentials.create())
                .defaultServiceConfig(Lb4jGrpc.serviceConfig("X-User-Id"))
                .build());

    Set<String> defaultHeaderAnswers = new HashSet<>();
    for (int k = 0; k < 100; k++) {
      String key = "tenant-" + k;
      assertEquals(
          fixture.lb.pickByKey(RULE, key).backend().id(),
          who(withHeader(channel, "x-user-id", key)),
          key);
      // the default header is not read any more: those RPCs have no key, round robin over 3
      defaultHeaderAnswers.add(who(withHeader(channel, "x-lb4j-key", "tenant-0")));
    }
    assertEquals(3, defaultHeaderAnswers.size(), "x-lb4j-key ignored: " + defaultHeaderAnswers);
  }

  @Test
  void rpc_keyHashOfLongKey_landsOnPickByLongKey_beforeKeyAndHeader() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(
        GrpcFixture.config(SelectionPolicy.of(SelectionAlgorithm.RENDEZVOUS), servers));
    ManagedChannel channel = fixture.channel();

    int differs = 0;
    for (long userId = 0; userId < 100; userId++) {
      String expected = fixture.lb.pickByKey(RULE, userId).backend().id();
      CallOptions options =
          CallOptions.DEFAULT
              .withOption(Lb4jGrpc.KEY_HASH, fixture.lb.keyHash(userId))
              .withOption(Lb4jGrpc.KEY, "other");
      assertEquals(expected, who(withHeader(channel, "x-lb4j-key", "another"), options));
      differs += expected.equals(fixture.lb.pickByKey(RULE, "other").backend().id()) ? 0 : 1;
    }
    assertTrue(differs > 0, "the hash decided, not the key 'other'");
  }

  @Test
  void rpc_headerWithTwoValues_keyIsTheValuesJoinedWithComma() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers));
    ManagedChannel channel = fixture.channel();

    Metadata.Key<String> header = Metadata.Key.of("x-lb4j-key", Metadata.ASCII_STRING_MARSHALLER);
    for (int k = 0; k < 50; k++) {
      Metadata md = new Metadata();
      md.put(header, "a" + k);
      md.put(header, "b" + k);
      Channel twoValues =
          ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(md));
      assertEquals(
          fixture.lb.pickByKey(RULE, "a" + k + ",b" + k).backend().id(),
          who(twoValues, CallOptions.DEFAULT));
    }
  }

  static Channel withHeader(Channel channel, String name, String value) {
    Metadata md = new Metadata();
    md.put(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER), value);
    return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(md));
  }
}

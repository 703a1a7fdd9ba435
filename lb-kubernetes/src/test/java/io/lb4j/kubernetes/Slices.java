package io.lb4j.kubernetes;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;

/** EndpointSlices as the EndpointSlice controller writes them, for tests. */
final class Slices {
  private Slices() {}

  /** An {@code IPv4} slice of {@code service} named {@code name} with {@code ports}. */
  static EndpointSlice slice(
      String name, String service, List<EndpointPort> ports, Endpoint... endpoints) {
    return slice(name, service, "IPv4", ports, endpoints);
  }

  static EndpointSlice slice(
      String name,
      String service,
      String addressType,
      List<EndpointPort> ports,
      Endpoint... endpoints) {
    return new EndpointSliceBuilder()
        .withNewMetadata()
        .withName(name)
        .addToLabels(EndpointSliceMapper.SERVICE_NAME_LABEL, service)
        .addToLabels("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io")
        .endMetadata()
        .withAddressType(addressType)
        .withPorts(ports)
        .withEndpoints(endpoints)
        .build();
  }

  static EndpointPort port(String name, int number) {
    return new EndpointPort(null, name, number, "TCP");
  }

  /** {@code http/8080}, {@code metrics/9090}. */
  static List<EndpointPort> webPorts() {
    return List.of(port("http", 8080), port("metrics", 9090));
  }

  /** A ready endpoint: ready, serving, not terminating, as for a ready pod. */
  static Endpoint ready(String address, String zone) {
    return endpoint(address, zone, true, true, false);
  }

  static Endpoint ready(String address) {
    return ready(address, "zone-a");
  }

  /** A terminating endpoint, still serving or not, as for a pod being deleted. */
  static Endpoint terminating(String address, boolean serving) {
    return endpoint(address, "zone-a", false, serving, true);
  }

  /** A pod not ready and not terminating: starting, or failing its readiness probe. */
  static Endpoint notReady(String address) {
    return endpoint(address, "zone-a", false, false, false);
  }

  static Endpoint endpoint(
      String address, String zone, Boolean ready, Boolean serving, Boolean terminating) {
    String pod = "web-" + Integer.toHexString(address.hashCode());
    return new EndpointBuilder()
        .withAddresses(address)
        .withNewConditions()
        .withReady(ready)
        .withServing(serving)
        .withTerminating(terminating)
        .endConditions()
        .withZone(zone)
        .withNodeName("node-1")
        .withNewTargetRef()
        .withKind("Pod")
        .withName(pod)
        .endTargetRef()
        .build();
  }
}

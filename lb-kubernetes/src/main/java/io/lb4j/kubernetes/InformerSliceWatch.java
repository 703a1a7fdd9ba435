package io.lb4j.kubernetes;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;

/**
 * A {@link SliceWatch} on a fabric8 informer: one list, then one watch, of the slices labelled
 * {@code kubernetes.io/service-name=<service>} in a namespace, no resync (every change comes from
 * the watch). The informer retries a failed list or watch with its back-off, forever: its exception
 * handler says so to {@link Events#failed} and asks it to go on (fabric8's default would stop the
 * informer after a failed first list or a watch error, and never recover).
 *
 * <p>Thread-safe.
 */
final class InformerSliceWatch implements SliceWatch {
  private final KubernetesClient client;
  private final String namespace;
  private final String service;
  private volatile SharedIndexInformer<EndpointSlice> informer;
  private volatile boolean closed;

  InformerSliceWatch(KubernetesClient client, String namespace, String service) {
    this.client = client;
    this.namespace = namespace;
    this.service = service;
  }

  @Override
  public void start(Events events) {
    SharedIndexInformer<EndpointSlice> i =
        client
            .discovery()
            .v1()
            .endpointSlices()
            .inNamespace(namespace)
            .withLabel(EndpointSliceMapper.SERVICE_NAME_LABEL, service)
            .runnableInformer(0);
    i.exceptionHandler(
        (isStarted, t) -> {
          events.failed(t);
          return !closed;
        });
    i.addEventHandler(
        new ResourceEventHandler<EndpointSlice>() {
          @Override
          public void onAdd(EndpointSlice slice) {
            events.changed();
          }

          @Override
          public void onUpdate(EndpointSlice before, EndpointSlice after) {
            events.changed();
          }

          @Override
          public void onDelete(EndpointSlice slice, boolean finalStateUnknown) {
            events.changed();
          }

          @Override
          public void onList(String resourceVersion, boolean isEmpty) {
            events.changed(); // a complete list, also one without any slice
          }
        });
    informer = i;
    if (!closed) {
      i.start(); // asynchronous: the list and the watch run on fabric8's threads
    }
  }

  @Override
  public boolean synced() {
    SharedIndexInformer<EndpointSlice> i = informer;
    return i != null && i.hasSynced();
  }

  @Override
  public boolean watching() {
    SharedIndexInformer<EndpointSlice> i = informer;
    return i != null && i.isWatching();
  }

  @Override
  public List<EndpointSlice> slices() {
    SharedIndexInformer<EndpointSlice> i = informer;
    return i == null ? List.of() : i.getStore().list();
  }

  @Override
  public String server() {
    return String.valueOf(client.getMasterUrl());
  }

  @Override
  public void close() {
    closed = true;
    SharedIndexInformer<EndpointSlice> i = informer;
    if (i != null) {
      i.stop();
    }
  }
}

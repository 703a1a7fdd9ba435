package io.lb4j.kubernetes;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A {@link SliceWatch} the test drives: its cache, whether it is synced and watching, events. */
final class FakeSliceWatch implements SliceWatch {
  volatile boolean synced;
  volatile boolean watching;
  volatile boolean closed;
  volatile Events events;
  volatile int startsToRefuse; // start() throws this many times
  volatile int starts;
  final List<EndpointSlice> slices = new CopyOnWriteArrayList<>();

  @Override
  public void start(Events events) {
    starts++;
    if (startsToRefuse > 0) {
      startsToRefuse--;
      throw new IllegalStateException("refused by the test");
    }
    this.events = events;
  }

  @Override
  public boolean synced() {
    return synced;
  }

  @Override
  public boolean watching() {
    return watching;
  }

  @Override
  public List<EndpointSlice> slices() {
    return List.copyOf(slices);
  }

  @Override
  public String server() {
    return "https://fake.test:6443/";
  }

  @Override
  public void close() {
    closed = true;
  }

  /** Lists {@code now} completely and starts watching, as an informer's first sync does. */
  void listed(EndpointSlice... now) {
    slices.clear();
    slices.addAll(List.of(now));
    synced = true;
    watching = true;
    events.changed();
  }
}

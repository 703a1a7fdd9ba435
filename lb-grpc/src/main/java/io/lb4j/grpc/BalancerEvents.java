package io.lb4j.grpc;

import io.lb4j.HealthEvent;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One {@link LoadBalancerListener} per balancer that every resolver and policy of this module
 * subscribes to and unsubscribes from. {@link LoadBalancer} has {@code addListener} but no way to
 * remove one, so a listener per channel would outlive the channel: this one is added once per
 * balancer and forwards to the subscribers alive.
 *
 * <p>The map holds balancers weakly; the listener refers to its subscribers, never to its balancer,
 * so a balancer no one else holds can be collected with it.
 *
 * <p>Thread-safe.
 */
final class BalancerEvents implements LoadBalancerListener {

  /** What a subscriber hears; methods run on the balancer's thread and must be quick. */
  interface Subscriber {
    /** The configuration changed: membership, weight, admin state or override. */
    void reconfigured();

    /** A backend's health for {@code rule} changed. */
    void healthChanged(String rule);
  }

  private static final Map<LoadBalancer, BalancerEvents> byBalancer = new WeakHashMap<>();

  private final CopyOnWriteArrayList<Subscriber> subscribers = new CopyOnWriteArrayList<>();

  private BalancerEvents() {}

  /** Subscribes {@code subscriber} to {@code lb}'s events; returns what unsubscribes it. */
  static Runnable subscribe(LoadBalancer lb, Subscriber subscriber) {
    BalancerEvents events;
    synchronized (byBalancer) {
      events = byBalancer.get(lb);
      if (events == null) {
        events = new BalancerEvents();
        lb.addListener(events); // the listener never takes this lock: no cycle
        byBalancer.put(lb, events);
      }
    }
    events.subscribers.add(subscriber);
    BalancerEvents subscribed = events;
    return () -> subscribed.subscribers.remove(subscriber);
  }

  @Override
  public void onReconfigured(LoadBalancerConfig config) {
    for (Subscriber s : subscribers) {
      s.reconfigured();
    }
  }

  @Override
  public void onHealthChange(HealthEvent event) {
    for (Subscriber s : subscribers) {
      s.healthChanged(event.rule());
    }
  }
}

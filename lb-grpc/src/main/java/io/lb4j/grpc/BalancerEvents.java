package io.lb4j.grpc;

import io.lb4j.HealthEvent;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;

/**
 * A balancer's events for one resolver or policy of this module: a {@link LoadBalancerListener}
 * added for the subscriber and removed ({@link LoadBalancer#removeListener}) when the channel shuts
 * it down.
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

  private final Subscriber subscriber;

  private BalancerEvents(Subscriber subscriber) {
    this.subscriber = subscriber;
  }

  /** Subscribes {@code subscriber} to {@code lb}'s events; returns what unsubscribes it. */
  static Runnable subscribe(LoadBalancer lb, Subscriber subscriber) {
    BalancerEvents events = new BalancerEvents(subscriber);
    lb.addListener(events);
    return () -> lb.removeListener(events);
  }

  @Override
  public void onReconfigured(LoadBalancerConfig config) {
    subscriber.reconfigured();
  }

  @Override
  public void onHealthChange(HealthEvent event) {
    subscriber.healthChanged(event.rule());
  }
}

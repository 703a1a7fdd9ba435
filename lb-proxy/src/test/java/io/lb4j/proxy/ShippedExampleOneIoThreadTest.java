package io.lb4j.proxy;

/** {@link ShippedExampleTest} with {@code proxy.ioThreads: 1}. */
class ShippedExampleOneIoThreadTest extends ShippedExampleTest {
  @Override
  String proxySection() {
    return "\nproxy:\n  ioThreads: 1\n";
  }
}

package io.lb4j.proxy;

/** {@link ShippedExampleTest} with {@code proxy.ioThreads: 4}. */
class ShippedExampleFourIoThreadsTest extends ShippedExampleTest {
  @Override
  String proxySection() {
    return "\nproxy:\n  ioThreads: 4\n";
  }
}

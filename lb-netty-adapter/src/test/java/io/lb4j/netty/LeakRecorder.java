package io.lb4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Makes Netty's leak detector (paranoid in this module's tests) record every leak it reports, so
 * that a test can fail on one instead of only logging it.
 */
public final class LeakRecorder {
  public static final List<String> LEAKS = new CopyOnWriteArrayList<>();

  private LeakRecorder() {}

  public static void install() {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(
        new ResourceLeakDetectorFactory() {
          @Override
          @SuppressWarnings("deprecation")
          public <T> ResourceLeakDetector<T> newResourceLeakDetector(
              Class<T> resource, int samplingInterval, long maxActive) {
            return new ResourceLeakDetector<T>(resource, samplingInterval) {
              @Override
              protected void reportTracedLeak(String resourceType, String records) {
                LEAKS.add(resourceType + ": " + records);
                super.reportTracedLeak(resourceType, records);
              }

              @Override
              protected void reportUntracedLeak(String resourceType) {
                LEAKS.add(resourceType);
                super.reportUntracedLeak(resourceType);
              }
            };
          }
        });
  }

  /** Collects garbage and allocates so that pending leak reports come out, then returns them. */
  public static List<String> collect() {
    for (int i = 0; i < 5; i++) {
      System.gc();
      ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(16);
      b.release();
    }
    return List.copyOf(LEAKS);
  }
}

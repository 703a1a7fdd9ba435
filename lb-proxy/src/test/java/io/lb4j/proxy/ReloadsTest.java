package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Reload counts and the last good load, under a clock the test moves. */
class ReloadsTest {
  private final AtomicReference<Instant> now =
      new AtomicReference<>(Instant.parse("2026-11-21T12:00:00Z"));
  private final InstantSource clock = now::get;

  @Test
  void record_eachResult_countedAndOnlyOkMovesTheTime() {
    Reloads r = new Reloads(clock);
    assertTrue(r.lastSuccessful(), "the load at start is the first success");
    assertEquals(
        Instant.parse("2026-11-21T12:00:00Z").getEpochSecond(), r.lastSuccessEpochSeconds());

    now.set(Instant.parse("2026-11-21T12:01:00.500Z"));
    r.record(Reloads.Result.OK);
    now.set(Instant.parse("2026-11-21T12:02:00Z"));
    r.record(Reloads.Result.REFUSED);
    assertFalse(r.lastSuccessful());
    now.set(Instant.parse("2026-11-21T12:03:00Z"));
    r.record(Reloads.Result.FAILED);
    r.record(Reloads.Result.FAILED);

    assertEquals(1, r.count(Reloads.Result.OK));
    assertEquals(1, r.count(Reloads.Result.REFUSED));
    assertEquals(2, r.count(Reloads.Result.FAILED));
    assertFalse(r.lastSuccessful());
    assertEquals(
        Instant.parse("2026-11-21T12:01:00.500Z").toEpochMilli() / 1000.0,
        r.lastSuccessEpochSeconds(),
        "refused and failed reloads leave the time of the last good one");

    now.set(Instant.parse("2026-11-21T12:04:00Z"));
    r.record(Reloads.Result.OK);
    assertTrue(r.lastSuccessful());
    assertEquals(
        Instant.parse("2026-11-21T12:04:00Z").getEpochSecond(), r.lastSuccessEpochSeconds());
  }
}

package io.lb4j.netty;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.LoggerFactory;

/**
 * The lines one logger writes while a test runs, at the level the test asks for: a Logback appender
 * attached for the test and detached (with the logger's level and additivity given back) on {@link
 * #close()}. Shared with lb-proxy's tests through the test-jar.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
  private final Logger logger;
  private final Level previousLevel;
  private final boolean previousAdditive;
  private final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();

  private LogCapture(Logger logger, Level level) {
    this.logger = logger;
    this.previousLevel = logger.getLevel();
    this.previousAdditive = logger.isAdditive();
    setContext(logger.getLoggerContext());
    setName("capture");
    start();
    logger.addAppender(this);
    logger.setLevel(level);
    logger.setAdditive(false); // the test reads the lines; stderr stays quiet
  }

  /** Captures what logger {@code name} writes at {@code level} and above. */
  public static LogCapture of(String name, Level level) {
    return new LogCapture((Logger) LoggerFactory.getLogger(name), level);
  }

  @Override
  protected void append(ILoggingEvent event) {
    events.add(event);
    synchronized (events) {
      events.notifyAll();
    }
  }

  /**
   * Waits up to {@code timeout} for a message that {@code match} accepts; returns it.
   *
   * @throws AssertionError naming what came instead when none does in time
   */
  public String await(java.util.function.Predicate<String> match, java.time.Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (events) {
      while (true) {
        for (String l : lines()) {
          if (match.test(l)) {
            return l;
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("no matching line within " + timeout + " in " + lines());
        }
        java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(events, left);
      }
    }
  }

  /** Returns the messages so far, formatted, oldest first. */
  public List<String> lines() {
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : events) {
      out.add(e.getFormattedMessage());
    }
    return out;
  }

  /** Returns the messages logged at {@code level}, formatted, oldest first. */
  public List<String> lines(Level level) {
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : events) {
      if (e.getLevel() == level) {
        out.add(e.getFormattedMessage());
      }
    }
    return out;
  }

  @Override
  public void close() {
    logger.detachAppender(this);
    logger.setLevel(previousLevel);
    logger.setAdditive(previousAdditive);
    stop();
  }
}

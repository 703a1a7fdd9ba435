package io.lb4j;

/**
 * A transport protocol a rule balances, with its IANA protocol number (the value the 5-tuple hash
 * sees).
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum Protocol {
  /** Transmission Control Protocol, IANA protocol number 6. */
  TCP(6),
  /** User Datagram Protocol, IANA protocol number 17. */
  UDP(17);

  private final int number;

  Protocol(int number) {
    this.number = number;
  }

  /** {@return the IANA protocol number: 6 for TCP, 17 for UDP} */
  public int number() {
    return number;
  }
}

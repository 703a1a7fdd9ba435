package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.ConnectException;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/** The fixture's own contract, which the churn tests rely on. */
class TestServerTest {

  @Test
  void kill_connectRightAfterIsRefused() throws Exception {
    // ServerSocket.close() alone returned while the blocked accept thread still held the listener:
    // under load most of these connects were accepted (and then reset), ConnectRetryChurnTest's
    // "closed before the greeting"
    for (int i = 0; i < 100; i++) {
      TestServer s = new TestServer("web-" + i, "127.0.0.2", TestServer.Mode.GREET_THEN_ECHO);
      Thread.sleep(2); // the accept thread blocks in accept
      s.kill();
      assertThrows(
          ConnectException.class,
          () -> {
            try (Socket c = new Socket()) {
              c.connect(s.address, 1000);
            }
          },
          "attempt " + i + ": a connect to " + s.address + " after kill() returned");
    }
  }
}

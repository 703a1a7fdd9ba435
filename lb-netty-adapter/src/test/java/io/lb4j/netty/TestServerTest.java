package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
      // one greeted connection first: the accept thread has served it and gone back to accept()
      try (Socket first = new Socket()) {
        first.setSoTimeout(5000);
        first.connect(s.address, 1000);
        assertEquals("web-" + i, TestServer.readLine(first.getInputStream()));
      }
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

"""CPU time of processes from /proc, shared by the end-to-end scripts (e2e.py, splice.py)."""
import os

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """User + system CPU seconds so far of every thread of the processes `pids`."""
    total = 0
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                f = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
                total += int(f[11]) + int(f[12])
            except (OSError, IndexError):
                pass  # a thread that ended between the listing and the read
    return total / TICK

"""Labels parity puts on every container it creates, so none can be lost track of."""

from __future__ import annotations

LABEL_MANAGED = "io.parity.managed"  # value "1" on every container parity creates
LABEL_PID = "io.parity.pid"  # the creating process, for sweeping containers of dead runs
LABEL_HOST = "io.parity.host"  # the creating host name, so a sweep never touches other hosts' runs

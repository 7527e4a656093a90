"""Labels parity puts on every container it creates, so none can be lost track of."""

from __future__ import annotations

from collections.abc import Mapping

from parity.engine.owner import Owner

LABEL_MANAGED = "io.parity.managed"  # value "1" on every container parity creates
LABEL_PID = "io.parity.pid"  # the creating process, for sweeping containers of dead runs
LABEL_HOST = "io.parity.host"  # the creating host's name, for people reading `docker ps`
# What a sweep relies on: the host, boot and PID namespace of the creating process (a
# digest), and when that process started (so a recycled PID is not taken for it).
LABEL_HOST_ID = "io.parity.host-id"
LABEL_STARTED = "io.parity.started"


def owner_labels(owner: Owner, hostname: str) -> dict[str, str]:
    """The labels naming ``owner`` on a container it creates."""
    return {
        LABEL_MANAGED: "1",
        LABEL_PID: str(owner.pid),
        LABEL_HOST: hostname,
        LABEL_HOST_ID: owner.host_id,
        LABEL_STARTED: owner.started,
    }


def owner_of(labels: Mapping[str, str]) -> Owner | None:
    """The owner a container's labels name; None when they do not name one fully."""
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return None
    host_id = labels.get(LABEL_HOST_ID, "")
    started = labels.get(LABEL_STARTED, "")
    if not host_id or not started:
        return None
    return Owner(host_id, pid, started)

"""QMP, the one way zpci-rs's tests and scripts talk to a running QEMU.

qemu.qmp's synchronous client (qemu.qmp.legacy, from PyPI) with what
every caller here needs on top: waiting for QEMU's socket while QEMU may
still die, commands whose failures name the command, and events.

    with Qmp.wait(path, deadline, alive=lambda: proc.poll() is None) as q:
        q.cmd("x-query-zpci")

SPDX-License-Identifier: GPL-2.0-or-later
"""

import asyncio
import time

from qemu.qmp import ConnectError, ExecuteError, QMPError
from qemu.qmp.legacy import QEMUMonitorProtocol


class Gone(Exception):
    """QEMU exited, closed QMP, or refused a command."""


class Timeout(Exception):
    """QEMU's QMP socket did not come up in time."""


class Qmp:
    """One QMP connection, capabilities negotiated."""

    def __init__(self, monitor):
        self._m = monitor

    @classmethod
    def wait(cls, path, deadline, alive=lambda: True):
        """Connects to the QMP socket at path, retrying until the
        time.monotonic() deadline while alive() says QEMU still runs."""
        while True:
            if not alive():
                raise Gone("QEMU exited before its QMP socket %s was up" % path)
            monitor = QEMUMonitorProtocol(path)
            try:
                monitor.connect(negotiate=True)
                return cls(monitor)
            except (ConnectError, OSError):
                monitor.close()
                if time.monotonic() > deadline:
                    raise Timeout("no QMP socket at %s" % path) from None
                time.sleep(0.05)

    def cmd(self, name, **args):
        """Runs one command and returns what it returned."""
        try:
            return self._m.cmd(name, **args)
        except ExecuteError as e:
            raise Gone("QMP %s: %s" % (name, e.error.error.desc)) from None
        except (QMPError, OSError, EOFError) as e:
            raise Gone("QMP closed during %s (%s)" % (name, e)) from None

    def hmp(self, command_line):
        """An HMP command, through human-monitor-command."""
        return self.cmd("human-monitor-command", **{"command-line": command_line})

    def events(self, wait=0.0):
        """The events received so far; waits up to wait seconds for the
        first one when there are none."""
        got = []
        try:
            event = self._m.pull_event(wait=float(wait) if wait else False)
        except asyncio.TimeoutError:
            return got
        while event is not None:
            got.append(event)
            event = self._m.pull_event(wait=False)
        return got

    def wait_deleted(self, ids, timeout):
        """Waits up to timeout seconds for QEMU's DEVICE_DELETED event of
        every device id in ids; other events are dropped."""
        left = set(ids)
        deadline = time.monotonic() + timeout
        while left:
            wait = min(0.2, deadline - time.monotonic())
            if wait <= 0:
                raise Timeout("no DEVICE_DELETED for %s after %s s" % (sorted(left), timeout))
            for event in self.events(wait):
                if event["event"] == "DEVICE_DELETED":
                    left.discard(event.get("data", {}).get("device"))

    def quit(self):
        """Asks QEMU to quit; it may close the connection first."""
        try:
            self.cmd("quit")
        except Gone:
            pass

    def close(self):
        """Closes the connection; a QEMU that already went is no error."""
        try:
            self._m.close()
        except (QMPError, OSError, EOFError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

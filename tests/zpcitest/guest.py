"""The test guest: the Debian s390x 6.12 kernel with the initramfs of
scripts/build-initramfs, booted under TCG on a qemu-system-s390x with the
two zPCI functions of scripts/guest-run (virtio-blk uid 5 on a disk image,
virtio-net uid 0xa fid 12), its console in a file, QMP on a socket.

    with Guest(qemu, image, tmp_path, extra=[...]) as g:
        g.wait_stopped(timeout)          # with no_shutdown=True
        g.qmp.cmd("x-query-zpci")
    g.report()                           # the lines of its report

SPDX-License-Identifier: GPL-2.0-or-later
"""

import subprocess
import time
from pathlib import Path

from zpcitest.qmp import Qmp

ROOT = Path(__file__).resolve().parents[2]


class GuestError(Exception):
    """The guest did not boot, or did not report what it should."""


def image():
    """The guest's kernel and initramfs (scripts/build-initramfs, which
    builds them once and then finds them built)."""
    out = subprocess.run([str(ROOT / "scripts/build-initramfs")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.split()
    if len(out) != 2:
        raise GuestError("scripts/build-initramfs printed %r" % out)
    return Path(out[0]), Path(out[1])


def firmware(qemu):
    """The folder with s390-ccw.img of an uninstalled QEMU build."""
    build = Path(qemu).resolve().parent
    for d in ("pc-bios/s390-ccw", "pc-bios", "qemu-bundle/usr/local/share/qemu"):
        if (build / d / "s390-ccw.img").is_file():
            return build / d
    raise GuestError("no s390-ccw.img beside %s: build it with "
                     "'make -C %s/pc-bios/s390-ccw'" % (qemu, build))


class Guest:
    """One run of the test guest."""

    def __init__(self, qemu, kernel_initrd, workdir, extra=(), append="",
                 disk=None, no_shutdown=False, timeout=300):
        self.workdir = Path(workdir)
        self.console = self.workdir / "console"
        self.log = self.workdir / "qemu.log"
        self.deadline = time.monotonic() + timeout
        if disk is None:
            disk = self.workdir / "disk.img"
            disk.write_bytes(bytes(1 << 20))
        kernel, initrd = kernel_initrd
        sock = self.workdir / "qmp.sock"
        self.cmd = [
            str(qemu), "-M", "s390-ccw-virtio", "-accel", "tcg", "-cpu", "max",
            "-m", "1024", "-nodefaults", "-display", "none", "-monitor", "none",
            "-serial", "file:%s" % self.console, "-L", str(firmware(qemu)),
            "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", ("console=ttysclp0 " + append).strip(),
            "-drive", "if=none,id=drive0,file=%s,format=raw" % disk,
            "-device", "zpci,uid=5,target=blk0",
            "-device", "virtio-blk-pci,id=blk0,drive=drive0",
            "-device", "zpci,uid=0xa,fid=12,target=net0",
            "-device", "virtio-net-pci,id=net0,romfile=",
            "-qmp", "unix:%s,server=on,wait=off" % sock,
        ] + (["-no-shutdown"] if no_shutdown else []) + list(extra)
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT)
        try:
            self.qmp = Qmp.wait(str(sock), self.deadline,
                                alive=lambda: self.proc.poll() is None)
        except Exception:
            self.close()
            raise GuestError("QEMU did not start: %s" % self.qemu_says())

    def qemu_says(self):
        """QEMU's first line of output, or what is known of its end."""
        text = self.log.read_text(errors="replace").strip()
        return text.splitlines()[0] if text else "exit status %s" % self.proc.poll()

    def wait_stopped(self):
        """Waits for the guest to power off (QEMU run with no_shutdown
        stays, stopped, for QMP)."""
        while self.qmp.cmd("query-status")["status"] != "shutdown":
            if time.monotonic() > self.deadline:
                raise GuestError("the guest did not power off in time "
                                 "(console: %s)" % self.console)
            time.sleep(0.5)

    def wait_exit(self):
        """Waits for QEMU to exit (the guest powered off); kills it at
        the deadline."""
        try:
            self.proc.wait(timeout=max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise GuestError("the guest did not power off in time "
                             "(console: %s)" % self.console) from None
        if self.proc.returncode != 0:
            raise GuestError("QEMU exited with status %d: %s"
                             % (self.proc.returncode, self.qemu_says()))

    def close(self):
        """Quits QEMU (or kills it) and waits for it."""
        if getattr(self, "qmp", None) is not None:
            if self.proc.poll() is None:
                self.qmp.quit()
            self.qmp.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def report(self):
        """The lines of the guest's report (between ZPCI-REPORT-BEGIN and
        ZPCI-REPORT-END); a GuestError says what is missing."""
        lines = self.console.read_text(errors="replace").replace("\r", "").splitlines()
        if not any("Linux version" in l for l in lines):
            raise GuestError("the guest did not boot: no kernel output (console: %s; QEMU: %s)"
                             % (self.console, self.qemu_says()))
        if "ZPCI-REPORT-BEGIN" not in lines:
            raise GuestError("the guest printed no report (console: %s)" % self.console)
        rest = lines[lines.index("ZPCI-REPORT-BEGIN") + 1:]
        if "ZPCI-REPORT-END" not in rest:
            raise GuestError("the guest's report is cut short (console: %s)" % self.console)
        report = rest[:rest.index("ZPCI-REPORT-END")]
        errors = [l.split(" ", 1)[1] for l in report if l.startswith("ZPCI-REPORT-ERROR ")]
        if errors:
            raise GuestError("the guest reported errors: %s" % "; ".join(errors))
        return report

"""Fixtures of the guest and QEMU-level tests (tests/pytest.ini).

--qemu PATH   the qemu-system-s390x under test (a build with zpci-rs)

SPDX-License-Identifier: GPL-2.0-or-later
"""

from pathlib import Path

import pytest

from zpcitest import guest


def pytest_addoption(parser):
    parser.addoption("--qemu", help="the qemu-system-s390x under test")


@pytest.fixture(scope="session")
def qemu(request):
    path = request.config.getoption("--qemu")
    if not path:
        pytest.exit("--qemu PATH/qemu-system-s390x is required", returncode=2)
    if not Path(path).is_file():
        pytest.exit("--qemu %s is not a file; build QEMU first" % path, returncode=2)
    return Path(path)


@pytest.fixture(scope="session")
def guest_image():
    """The guest's kernel and initramfs, built once for the session."""
    return guest.image()

"""Fixtures of the guest and QEMU-level tests (tests/pytest.ini).

--qemu PATH       the qemu-system-s390x under test
--expected FILE   the guest's zPCI values pinned from stock QEMU of the
                  same version (tests/guest/stock-VERSION.expected)
--guest-timeout S QEMU is killed after S seconds (default 300; more for
                  a sanitizer build)

SPDX-License-Identifier: GPL-2.0-or-later
"""

from pathlib import Path

import pytest

from zpcitest import guest


def pytest_addoption(parser):
    parser.addoption("--qemu", help="the qemu-system-s390x under test")
    parser.addoption("--expected", help="tests/guest/stock-VERSION.expected of its version")
    parser.addoption("--guest-timeout", type=float, default=300,
                     help="seconds before QEMU is killed")


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


@pytest.fixture(scope="session")
def expected(request):
    path = request.config.getoption("--expected")
    if not path or not Path(path).is_file():
        pytest.exit("--expected FILE (tests/guest/stock-VERSION.expected) is required, got %r"
                    % path, returncode=2)
    return Path(path)


@pytest.fixture(scope="session")
def guest_timeout(request):
    return request.config.getoption("--guest-timeout")

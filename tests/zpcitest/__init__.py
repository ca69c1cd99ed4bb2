"""The Python side of zpci-rs's tests and scripts.

- qmp: the one QMP client, on qemu.qmp from PyPI.

SPDX-License-Identifier: GPL-2.0-or-later
"""

"""The Python side of zpci-rs's tests and scripts.

- qmp: the one QMP client, on qemu.qmp from PyPI;
- guest: the test guest, booted with its console in a file and QMP;
- expect: the one way the pytest suite checks and reports.

SPDX-License-Identifier: GPL-2.0-or-later
"""

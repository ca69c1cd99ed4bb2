"""One way to check and report in the pytest suite: every comparison of a
test is made, and the test fails once with all that differed.

    expect([("pchid", want, got), ...])

SPDX-License-Identifier: GPL-2.0-or-later
"""


def expect(checks):
    """checks: (name, want, got) triples; fails listing each that differs."""
    wrong = ["%s: want %r, got %r" % (name, want, got)
             for name, want, got in checks if want != got]
    assert not wrong, "\n".join(wrong)

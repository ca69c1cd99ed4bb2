/*
 * A panic in zpci-rs never crosses into C: zpci_rs_test_panic, an export
 * of the library built with the cargo feature "test-panic" (and only of
 * that build; it is not in zpci_rs.h), panics inside the guard every
 * export runs in. The call must return ZPCI_RS_STATUS_PANIC, this process
 * must go on, and the library must still answer afterwards.
 *
 *   cargo build --release --features test-panic --target-dir target/test-panic
 *   gcc ... tests/c/panic_test.c target/test-panic/release/libzpci_rs.a ...
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zpci_rs.h"

/* The test-only export, declared here because the header must not. */
ZpciRsStatus zpci_rs_test_panic(void);

#include "check.h"

int main(void)
{
    ZpciRsFunctionGroup g;

    fprintf(stderr, "panic_test: a Rust panic message follows; it is the "
            "test's\n");
    CHECK(zpci_rs_test_panic() == ZPCI_RS_STATUS_PANIC);
    /* again: the guard is not spent by the first panic */
    CHECK(zpci_rs_test_panic() == ZPCI_RS_STATUS_PANIC);
    /* the library still answers */
    memset(&g, 0, sizeof(g));
    CHECK(zpci_rs_default_function_group(&g) == ZPCI_RS_STATUS_OK);
    CHECK(g.noi == 128 && g.mui == 4000);
    printf("panic_test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

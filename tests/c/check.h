/*
 * The check macro of the C tests: CHECK(cond) counts a passed or a failed
 * check, and says which one failed. Each test ends with
 * "NAME: <passed> passed, <failed> failed".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ZPCI_RS_TEST_CHECK_H
#define ZPCI_RS_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond) do {                                            \
        if (cond) {                                                 \
            passed++;                                               \
        } else {                                                    \
            failed++;                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n",            \
                    __FILE__, __LINE__, #cond);                     \
        }                                                           \
    } while (0)

#endif

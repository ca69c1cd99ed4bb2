# The build of a freestanding s390x program run as the machine's BIOS
# (-bios PROG.elf), shared by tests/s390x-bench and tests/s390x-hostile.
# The including Makefile, run in its own folder, sets
#
#   PROG   the program: PROG.c, built into PROG.elf
#   DEPS   the headers PROG.c includes
#
# and may add to CFLAGS after the include. The entry point (start.S, whose
# program-interruption handler records the code and goes on) and the linker
# script are those of the zPCI probe, used in place from ../s390x-bare;
# everything built goes in the including folder.
#
#   make                       build PROG.elf
#   make CROSS_PREFIX=...      another toolchain (default s390x-linux-gnu-)
#
# SPDX-License-Identifier: GPL-2.0-or-later

CROSS_PREFIX ?= s390x-linux-gnu-
CC := $(CROSS_PREFIX)gcc
READELF := $(CROSS_PREFIX)readelf
STRIP := $(CROSS_PREFIX)strip

BARE := ../s390x-bare
COMMON := ../s390x-common

# As for the probe: z900 code, which any CPU model QEMU's TCG offers runs.
CFLAGS := -m64 -march=z900 -msoft-float -O2 -ffreestanding -fPIE \
	-fno-delete-null-pointer-checks -fno-tree-loop-distribute-patterns \
	-fno-asynchronous-unwind-tables -fno-stack-protector \
	-Wall -Wextra -Werror
LDFLAGS := -nostdlib -static -Wl,-T,$(BARE)/zpci-bare.ld \
	-Wl,--build-id=none -Wl,-z,max-page-size=16 \
	-Wl,-z,common-page-size=16 -Wl,-z,noexecstack

OBJS := start.o $(PROG).o

all: $(PROG).elf

start.o: $(BARE)/start.S Makefile $(COMMON)/bare.mk
	$(CC) $(CFLAGS) -c -o $@ $<

$(PROG).o: $(PROG).c $(DEPS) Makefile $(COMMON)/bare.mk
	$(CC) $(CFLAGS) -c -o $@ $<

# -bios relocates the image without applying relocations: refuse any that
# would need one (absolute addresses, GOT entries).
$(PROG).elf: $(OBJS) $(BARE)/zpci-bare.ld
	@if $(READELF) -rW $(OBJS) | grep -E 'R_390_(8|12|16|20|32|64|GOT)'; \
	then \
		echo "error: absolute relocations above;" \
		     "the image must be position independent" >&2; \
		exit 1; \
	fi
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@.tmp $(OBJS)
	$(STRIP) $@.tmp
	mv $@.tmp $@

clean:
	rm -f $(OBJS) $(PROG).elf $(PROG).elf.tmp

.PHONY: all clean

# regbuf — build, test, install. Plain GNU make, no generator.
#   make            library, CLI, tests, examples (in build/)
#   make check      deps + hugepages, test suite (as root: then again as uid
#                   65534, tests/unpriv.sh), then under ASan+UBSan and TSan
#   make demo       deps, then `regbuf demo`
#   make bench      deps, then every benchmark into bench/results/
#   make fuzz       libFuzzer harnesses for FUZZ_SECONDS each (clang)
#   make check-kernel KERNEL=6.1   the suite on Debian's kernel in QEMU (6.1 6.12 7.2 7.3,
#                   and 7.2-stock / 7.2+regbuf / 7.3-stock / 7.3+regbuf
#                   built by `make kernel`)
#   make check-kernels  that on 6.1 6.12 7.2 7.3 7.2+regbuf 7.3+regbuf
#                   (CI: three of them)
#   make kernel     linux-source-7.2 and -7.3 stock and with kernel/patches
#   make kernel-proof  what CI cannot fit: debug kernel, peers' suites, pairs
#   make kernel-dio  block direct I/O on stock and kernel/next (+ debug)
#   make postgresql  Debian's postgresql-18 with integrations/postgresql's
#                   patches (check-postgresql: its checks and suites;
#                   check-postgresql-kernel KERNEL=6.1: in a guest;
#                   bench-postgresql: off against on)
#   make install PREFIX=/usr/local DESTDIR=...
#   make deb        Debian packages in build-deb/ (check-deb: and use them)
#   make dist       build-dist/regbuf-VERSION.tar.gz of what is committed

VERSION_MAJOR := 0
VERSION := 0.1.0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

B ?= build
CC ?= cc
SAN ?=
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=gnu11 -O2 -g -fPIC -D_GNU_SOURCE $(WARN) -Iinclude -Isrc $(SAN)
CFLAGS ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)
LDFLAGS ?=
# Header dependencies, tracked by the compiler (one .d beside each object
# or test; -MP: a deleted header does not break the build).
DEPFLAGS = -MMD -MP

LIB_SRCS := $(wildcard src/*.c)
LIB_OBJS := $(LIB_SRCS:src/%.c=$(B)/src/%.o)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_OBJS := $(TOOL_SRCS:tools/%.c=$(B)/tools/%.o)
TEST_SRCS := $(wildcard tests/t_*.c)
TESTS := $(TEST_SRCS:tests/%.c=$(B)/tests/%)
# The fuzz harnesses also build as replay tests over their corpus.
FUZZERS := api plan
TESTS += $(FUZZERS:%=$(B)/tests/t_fuzz_%)
# examples/*_core.c: the part of an example that the CLI's benchmarks
# share, built once as an object that both link.
EXAMPLE_CORES := $(wildcard examples/*_core.c)
EXAMPLE_SRCS := $(filter-out $(EXAMPLE_CORES),$(wildcard examples/*.c))
EXAMPLES := $(EXAMPLE_SRCS:examples/%.c=$(B)/examples/%)
EXAMPLE_CORE_OBJS := $(EXAMPLE_CORES:examples/%.c=$(B)/examples/%.o)

STATIC := $(B)/libregbuf.a
SHARED := $(B)/libregbuf.so.$(VERSION)
SONAME := libregbuf.so.$(VERSION_MAJOR)
# regbuf.pc (the library) and regbuf-liburing.pc (<regbuf/liburing.h>:
# regbuf and liburing).
PC_FILES := $(B)/regbuf.pc $(B)/regbuf-liburing.pc

all: $(STATIC) $(SHARED) $(B)/regbuf $(TESTS) $(EXAMPLES)
lib: $(STATIC) $(SHARED) $(PC_FILES)
cli: $(B)/regbuf

$(B)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -fvisibility=hidden -c $< -o $@


$(STATIC): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJS) src/libregbuf.map
	$(CC) $(SAN) -shared -Wl,-soname,$(SONAME) -Wl,-z,defs \
		-Wl,--version-script=src/libregbuf.map -o $@ $(LIB_OBJS) -lpthread $(LDFLAGS)
	ln -sf libregbuf.so.$(VERSION) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libregbuf.so

$(B)/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

# The CLI links the static library so it runs from the build tree;
# CLI_LINK=shared links libregbuf.so instead (the Debian package).
CLI_LINK ?= static
ifeq ($(CLI_LINK),shared)
$(B)/regbuf: $(TOOL_OBJS) $(EXAMPLE_CORE_OBJS) $(SHARED)
	$(CC) $(SAN) -o $@ $(TOOL_OBJS) $(EXAMPLE_CORE_OBJS) -L$(B) -lregbuf -luring -lpthread -lm $(LDFLAGS)
else
$(B)/regbuf: $(TOOL_OBJS) $(EXAMPLE_CORE_OBJS) $(STATIC)
	$(CC) $(SAN) -o $@ $(TOOL_OBJS) $(EXAMPLE_CORE_OBJS) $(STATIC) -luring -lpthread -lm $(LDFLAGS)
endif

# Tests link the static archive: unit tests reach internal symbols and the
# sys fault seam, which the shared library hides.
$(B)/tests/%: tests/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -DT_SAN='"$(SAN)"' -DT_CC='"$(CC)"' -o $@ $< $(STATIC) -luring -lpthread -lm $(LDFLAGS)

$(B)/tests/t_fuzz_%: fuzz/fuzz_%.c fuzz/replay.c include/regbuf.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ fuzz/fuzz_$*.c fuzz/replay.c $(STATIC) -luring -lpthread -lm $(LDFLAGS)

$(B)/examples/%_core.o: examples/%_core.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

# An example links its own core object when it has one.
$(B)/examples/%: examples/%.c $(wildcard examples/*.h) include/regbuf.h include/regbuf/liburing.h $(STATIC) $(EXAMPLE_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(wildcard $(B)/examples/$*_core.o) $(STATIC) -luring -lpthread $(LDFLAGS)

deps:
	@scripts/deps.sh $(DEPS)

hugepages:
	@scripts/hugepages.sh

check: DEPS = build
check: deps hugepages
	$(MAKE) all
	scripts/layers.sh $(B)
	scripts/abi.sh $(B)
	@echo "== the suite as $$(id -un) (uid $$(id -u))"
	tests/run.sh $(B)
	@if [ "$$(id -u)" -eq 0 ]; then tests/unpriv.sh $(B); else \
		echo "unprivileged run: the run above was one (not root)"; fi
	@if [ "$$(id -u)" -eq 0 ] && command -v dpkg-buildpackage >/dev/null; then \
		$(MAKE) check-deb; \
	else \
		echo "check-deb: needs root and dpkg-buildpackage, not run"; \
	fi
	$(MAKE) check-debug
	$(MAKE) check-san
	$(MAKE) check-tsan

# REGBUF_DEBUG: the library's assertions compiled in (RB_ASSERT, and an
# abort on an invalid free), under the allocator's and the fault seam's
# tests.
check-debug:
	$(MAKE) B=build-debug CFLAGS="$(CFLAGS) -DREGBUF_DEBUG" build-debug/tests/t_alloc build-debug/tests/t_faults
	REGBUF_TEST_ONLY=t_alloc,t_faults tests/run.sh build-debug

# ThreadSanitizer: the concurrent tests (allocator, ring churn, tcopy,
# stress) and everything else, in a separate build.
check-tsan:
	$(MAKE) B=build-tsan SAN="-fsanitize=thread -fno-omit-frame-pointer" all
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
		REGBUF_SANITIZED=1 tests/run.sh build-tsan

check-san:
	$(MAKE) B=build-san SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		REGBUF_SANITIZED=1 tests/run.sh build-san

demo: DEPS = build
demo: deps hugepages
	@$(MAKE) -s all
	@$(B)/regbuf demo

bench: DEPS = bench
bench: deps hugepages
	@$(MAKE) -s all $(B)/bench/planners
	bench/run.sh $(B)

# Placement research beside the product (bench/planners.c), on the model
# of bench alloc's fill workload.
$(B)/bench/planners: bench/planners.c $(B)/tools/frag_model.o tools/frag_model.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ bench/planners.c $(B)/tools/frag_model.o -lm $(LDFLAGS)

# What the QEMU kernel runs take into their initramfs (built with -static).
static-tree: $(B)/regbuf $(TESTS) $(EXAMPLES)

# The suite on Debian's own kernel of another release, under QEMU.
KERNEL ?= 6.1
check-kernel: DEPS = build
check-kernel: deps
	tests/kernels/run.sh $(KERNEL)

# Every kernel the suite knows, one after the other (about 16 minutes each
# under TCG; CI runs 6.1, 6.12 and 7.2+regbuf). Then tests/kernels/table.sh
# prints the README's kernel table from their output.
KERNELS ?= 6.1 6.12 7.2 7.3 7.2+regbuf 7.3+regbuf
check-kernels: DEPS = build
check-kernels: deps
	for k in $(KERNELS); do tests/kernels/run.sh $$k || exit 1; done

# PostgreSQL 18 reading into registered shared buffers: Debian's source
# package through apt, regbuf's patches, a meson/ninja object directory
# kept in build-pg/ (a cold build takes ~15 min on 2 cores, a rebuild
# what the patches touch); then the server checked as uid 65534 and
# PostgreSQL's regression and AIO suites with the setting on (~10 min).
postgresql: lib
	integrations/postgresql/build.sh
check-postgresql: postgresql cli
	integrations/postgresql/check.sh
# the same server in a guest kernel (KERNEL=6.1, 6.12, 7.2, 7.3,
# 7.2+regbuf): off, on and registered in every ring, under QEMU
# (integrations/postgresql/guest.sh; build-kernel/KERNEL/postgresql.txt)
check-postgresql-kernel: postgresql
	tests/kernels/run.sh $(KERNEL) postgresql
# start-up (1 and 4 GiB on 2 MiB pages; clone against registering in
# every ring) and backend CPU per block read, off against on, side by
# side: build-pg/bench.txt (a few minutes)
bench-postgresql: postgresql
	integrations/postgresql/bench.sh

# Debian's linux-source-7.2 and the newest source Debian carries,
# linux-source-7.3 (experimental), each built stock and with kernel/patches
# (objects and ccache kept under build-kernel/, so a rebuild after editing
# a patch takes minutes; about 25 minutes a build cold); then
# `make check-kernel KERNEL=7.2+regbuf` (or 7.2-stock, 7.3+regbuf, ...).
KERNEL_BASES ?= 7.2 7.3
kernel:
	for v in $(KERNEL_BASES); do REGBUF_KERNEL_BASE=$$v kernel/build.sh stock regbuf || exit 1; done

# What does not fit in CI's 90 minutes, run before the kernel half's
# results are recorded (kernel/RESULTS.md): the debug kernel under the
# race stress, liburing's suite and the mm selftests on stock and patched,
# FOLL_LONGTERM migration out of a ZONE_MOVABLE, and the timing pairs
# (registration). Hours under TCG.
# Block direct I/O by folio range (kernel/next, not yet in the series):
# fio with verify through ext4 and raw disks from every kind of memory,
# the pins of bios trimmed to 4 KiB blocks, CPU per read; on stock (whose
# trim leak fails the run: kernel/RESULTS.md), patched, patched debug.
kernel-dio: DEPS = kernel
kernel-dio: deps
	tests/kernels/run.sh 7.2-stock dio || echo "kernel-dio: 7.2-stock failed (its trim leak is expected)"
	tests/kernels/run.sh 7.2+next dio
	REGBUF_TEST_ONLY=verify,trim tests/kernels/run.sh 7.2+next-debug dio
	tests/kernels/dio-compare.sh 7.2-stock 7.2+next

kernel-proof: DEPS = peers
kernel-proof: deps
	kernel/build.sh stock regbuf debug stock-debug cross lint
	tests/kernels/run.sh 7.2+regbuf-debug
	# the control: the race stress on stock with the same debug config
	REGBUF_TEST_ONLY=t_kraces tests/kernels/run.sh 7.2-stock-debug
	tests/kernels/peers.sh
	for k in 7.2-stock 7.2+regbuf; do \
		REGBUF_PEERS=liburing,liburing-unpriv,mm tests/kernels/run.sh $$k peers || exit 1; \
		REGBUF_GUEST_HUGE="hugepagesz=2M hugepages=64" REGBUF_KERNEL_APPEND=movablecore=1G \
			REGBUF_TEST_ONLY=t_kedges tests/kernels/run.sh $$k || exit 1; \
	done
	tests/kernels/peers-compare.sh
	# the second base: its suite, and the peers' suites stock and patched
	REGBUF_KERNEL_BASE=7.3 kernel/build.sh stock regbuf
	tests/kernels/run.sh 7.3+regbuf
	for k in 7.3-stock 7.3+regbuf; do \
		REGBUF_PEERS=liburing,liburing-unpriv,mm tests/kernels/run.sh $$k peers || exit 1; \
	done
	tests/kernels/peers-compare.sh 7.3-stock 7.3+regbuf
	tests/kernels/pairs.sh 3
	tests/kernels/gup-pairs.sh 2

# libFuzzer (clang): each harness for FUZZ_SECONDS against the real kernel,
# corpus seeded from fuzz/corpus/, crashes kept in build-fuzz/crashes/.
FUZZ_SECONDS ?= 60
fuzz: DEPS = fuzz
fuzz: deps hugepages
	$(MAKE) -s B=build-fuzz CC=clang SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" build-fuzz/libregbuf.a
	for f in $(FUZZERS); do \
		clang $(BASE_CFLAGS) -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz_$$f \
			fuzz/fuzz_$$f.c build-fuzz/libregbuf.a -luring -lpthread -lm || exit 1; \
	done
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZERS)

C_FILES = $(wildcard src/*.c src/*.h include/*.h include/regbuf/*.h tools/*.c tools/*.h tests/*.c tests/*.h examples/*.c fuzz/*.c bench/*.c)

format:
	clang-format -i $(C_FILES)

format-check:
	clang-format --dry-run --Werror $(C_FILES)

# The .pc files name the install paths: made again whenever PREFIX,
# LIBDIR or INCLUDEDIR differ from the last build's (`make` then `make
# install PREFIX=/opt` must not install /usr/local's).
PC_VARS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(VERSION)
$(B)/pc.vars: FORCE
	@mkdir -p $(B)
	@echo '$(PC_VARS)' | cmp -s - $@ || echo '$(PC_VARS)' >$@
FORCE:
$(B)/%.pc: %.pc.in Makefile $(B)/pc.vars
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

install: $(STATIC) $(SHARED) $(B)/regbuf $(PC_FILES)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/regbuf $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 include/regbuf.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/regbuf/liburing.h $(DESTDIR)$(INCLUDEDIR)/regbuf/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libregbuf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libregbuf.so
	install -m 644 $(PC_FILES) $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 755 $(B)/regbuf $(DESTDIR)$(BINDIR)/
	install -m 644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/man3/*.3 $(DESTDIR)$(MANDIR)/man3/

# Debian packages (libregbuf0, libregbuf-dev, regbuf) built from a copy of
# the tree in build-deb/, where the .debs land.
deb: DEPS = deb
deb: deps
	rm -rf build-deb && mkdir -p build-deb/src
	tar -c --exclude='./build' --exclude='./build-*' --exclude='./.git' . | \
		tar -x -C build-deb/src
	cd build-deb/src && dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; }
	ls build-deb/*.deb

# The packages as a user gets them: built, lintian-clean, installed with
# apt-get, the README's program built with pkg-config only and run, the
# CLI run, then purged with nothing left behind (root).
check-deb: deb
	scripts/check-deb.sh build-deb

# A versioned source tarball of what is committed.
dist:
	mkdir -p build-dist
	git archive --format=tar.gz --prefix=regbuf-$(VERSION)/ \
		-o build-dist/regbuf-$(VERSION).tar.gz HEAD
	@echo build-dist/regbuf-$(VERSION).tar.gz

-include $(wildcard $(B)/src/*.d $(B)/tools/*.d $(B)/tests/*.d $(B)/examples/*.d)

clean:
	rm -rf build build-*

.PHONY: FORCE kernel-dio postgresql check-postgresql check-postgresql-kernel bench-postgresql check-debug check-kernels kernel kernel-proof deb check-deb dist all lib cli deps hugepages check check-san check-tsan fuzz static-tree check-kernel demo bench format format-check install clean
.SECONDARY:

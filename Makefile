# gillua — a Lua 5.4 interpreter with a configurable GIL.
#
#   make            build build/gillua
#   make demo       install missing packages, build, run the GIL-vs-processes demo
#   make deps-mpi   install Open MPI (optional), so make builds the mpi module
#   make test       cmocka unit tests + Lua script tests
#   make tsan/asan  the whole suite under ThreadSanitizer / AddressSanitizer+UBSan
#   make test-lua   Lua 5.4.4's own test suite (../shared/lua-5.4.4-testes) in four GIL setups
#   make bench      full benchmark suite -> bench/results/latest/
#   make bench-quick  the same shape, small sizes (< 90 s)
#   make fuzz       libFuzzer on the transfer decoder, then on the managers'
#                   handshake and frames (FUZZ_SECONDS each, default 600)
#   make install PREFIX=/usr/local

PREFIX     ?= /usr/local
CC         ?= cc
LUA_PC     := lua5.4
# pkg-config is asked when make parses this file.  On a fresh machine that
# is before `deps` has installed liblua5.4-dev, so every target that builds
# runs `deps` first and then builds in a sub-make, which parses anew.
LUA_CFLAGS := $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null)
# Lua is linked from liblua5.4-dev's static archive, as Debian's lua5.4
# links it, with the API exported (vm/lua_api.list) to C modules that
# require loads: calls into the shared library went through its PLT and cost
# gillua 1-2% more instructions than lua5.4 on API-heavy work (callgrind:
# table.sort 1.016x, coroutine.wrap 1.006x; static: <= 1.000x). Without
# the archive, the shared library.
LUA_STATIC := $(wildcard $(shell pkg-config --variable=libdir $(LUA_PC) 2>/dev/null)/liblua5.4.a)
comma      := ,
LUA_LIBS   := $(if $(LUA_STATIC),-Wl$(comma)--dynamic-list=vm/lua_api.list $(LUA_STATIC),$(shell pkg-config --libs $(LUA_PC) 2>/dev/null))
VERSION    := 0.1.0

WARN    := -std=c11 -Wall -Wextra -Werror
CPPFLAGS := -D_GNU_SOURCE -DGILLUA_VERSION='"$(VERSION)"' $(LUA_CFLAGS)
# Layering, enforced by the compiler: the core (vm/) sees only its own
# headers; the runtime sees both. vm/main.c is the program, above both
# layers: it hands the core the runtime's opener (docs/architecture.md).
INC_vm      := -Ivm
INC_runtime := -Ivm -Iruntime
INC_main    := -Ivm -Iruntime
include_of = $(if $(filter vm/main.c,$(1)),$(INC_main),$(if $(filter vm/%,$(1)),$(INC_vm),$(INC_runtime)))
CFLAGS  ?= -O2 -g
LDLIBS  := $(LUA_LIBS) -lsodium -lm -ldl -pthread

# Build flavours: plain, tsan, asan. Each has its own object directory.
FLAVOUR ?= plain
ifeq ($(FLAVOUR),tsan)
  BUILD := build/tsan
  SAN   := -fsanitize=thread -O1 -g
else ifeq ($(FLAVOUR),asan)
  BUILD := build/asan
  SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g
else
  BUILD := build
  SAN   :=
endif

# The MPI module (runtime/lmpi*.c) is a shared object built only when Open
# MPI is installed (`make deps-mpi`); `require "mpi"` loads it.
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
MPI_SRCS   := $(wildcard runtime/lmpi*.c)
MPI_SO     := $(if $(MPI_LIBS),$(BUILD)/mpi.so)

SRCS      := $(wildcard vm/*.c) $(filter-out $(MPI_SRCS),$(wildcard runtime/*.c))
OBJS      := $(SRCS:%.c=$(BUILD)/obj/%.o)
LIB_OBJS  := $(filter-out $(BUILD)/obj/vm/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
GILLUA    := $(BUILD)/gillua

DEB_PKGS := liblua5.4-dev lua5.4 libcmocka-dev pkg-config lua-socket libsodium-dev

.PHONY: all build deps deps-mpi test test-lua unit scripts tsan asan bench bench-quick demo fuzz fuzz-run install install-run clean

all: deps
	@$(MAKE) --no-print-directory build

build: $(GILLUA) $(MPI_SO)

# The dynamic lists export the blocking libc calls gillua defines for C
# modules (vm/interpose.c), so that they bind to gillua's before libc's,
# and what the MPI module (mpi.so) calls back into (runtime/lmpi.list).
$(GILLUA): $(OBJS) vm/interpose.list vm/lua_api.list runtime/lmpi.list
	$(CC) $(CFLAGS) $(SAN) -Wl,--dynamic-list=vm/interpose.list -Wl,--dynamic-list=runtime/lmpi.list -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/mpi.so: $(MPI_SRCS) $(wildcard vm/*.h runtime/*.h)
	$(CC) $(WARN) $(INC_runtime) $(CPPFLAGS) $(MPI_CFLAGS) $(CFLAGS) $(SAN) -fPIC -shared -o $@ $(MPI_SRCS) $(MPI_LIBS)

$(BUILD)/obj/%.o: %.c $(wildcard vm/*.h runtime/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(call include_of,$<) $(CPPFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(INC_runtime) $(CPPFLAGS) $(CFLAGS) $(SAN) -o $@ $< $(LIB_OBJS) -lcmocka $(LDLIBS)

# Open MPI, for `require "mpi"` (optional: nothing else needs it).
deps-mpi:
	@sh mk/deps.sh libopenmpi-dev openmpi-bin

# Installs the Debian packages gillua needs when any is missing (mk/deps.sh:
# as root, or through password-less sudo; otherwise it names them and fails).
deps:
	@sh mk/deps.sh $(DEB_PKGS)

test: deps
	@$(MAKE) --no-print-directory unit scripts

unit: $(GILLUA) $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# A C module that blocks in each call gillua interposes (tests/scripts/interpose_calls.lua).
TEST_MODULE := $(BUILD)/tests/blockmod.so

$(TEST_MODULE): tests/modules/blockmod.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(SAN) -shared -fPIC -o $@ $<

scripts: $(GILLUA) $(TEST_MODULE)
	@tests/run_scripts.sh $(GILLUA)

# all.lua and main.lua of Lua 5.4.4, unmodified but for main.lua's -h
# check, with the GIL on, off, and beside a spinning thread (mk/test_lua.sh).
test-lua: all
	@sh mk/test_lua.sh $(GILLUA)

tsan: deps
	@$(MAKE) --no-print-directory FLAVOUR=tsan unit scripts

asan: deps
	@$(MAKE) --no-print-directory FLAVOUR=asan unit scripts

bench: all
	./build/gillua bench/harness.lua --full && tests/report/check_html.sh bench/results/latest/report.html

bench-quick: all
	./build/gillua bench/harness.lua --quick && tests/report/check_html.sh bench/results/latest/report.html

demo: all
	./build/gillua bench/harness.lua --demo

FUZZ_SECONDS ?= 600
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run:
	@mkdir -p build/fuzz
	clang $(INC_runtime) $(CPPFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o build/fuzz/fuzz_transfer tests/fuzz/fuzz_transfer.c \
	  $(wildcard runtime/transfer*.c) runtime/rtobject.c $(LDLIBS)
	clang $(INC_runtime) $(CPPFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o build/fuzz/fuzz_mgr_net tests/fuzz/fuzz_mgr_net.c runtime/mgr_net_frame.c runtime/mp_auth.c \
	  $(wildcard runtime/transfer*.c) runtime/rtobject.c $(LDLIBS)
	@mkdir -p build/fuzz/corpus build/fuzz/corpus_mgr_net
	build/fuzz/fuzz_transfer -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/corpus tests/fuzz/seeds
	build/fuzz/fuzz_mgr_net -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/corpus_mgr_net tests/fuzz/seeds_mgr_net

install: all
	@$(MAKE) --no-print-directory install-run

install-run:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 build/gillua $(DESTDIR)$(PREFIX)/bin/gillua
	install -m 644 docs/gillua.1 $(DESTDIR)$(PREFIX)/share/man/man1/gillua.1
	if [ -f build/mpi.so ]; then install -d $(DESTDIR)$(PREFIX)/lib/gillua && \
	  install -m 644 build/mpi.so $(DESTDIR)$(PREFIX)/lib/gillua/mpi.so; fi

clean:
	rm -rf build

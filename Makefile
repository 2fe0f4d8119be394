# mta — a Unix-style mail transfer agent toolkit.
#
#   make            build every tool into build/
#   make deps       install missing Debian packages (build deps and test peers)
#   make check      deps + build + every unit and integration test
#   make asan       the same tests against an ASan+UBSan build in build-asan/
#   make demo       run the pipeline end to end on embedded defaults
#   make release    the installed build: size-optimised, LTO, stripped (build-release/)
#   make install    PREFIX=/usr/local DESTDIR=  (installs the release build)
#
# Sources are found by wildcard: lib/*.cpp is the shared library, each
# tools/<name>/ directory is one program, tests/unit/*.cpp one test binary.
# lib/tls/*.cpp is mta-tls.so, the only object that links OpenSSL; the
# programs load it when they need TLS or password hashing (lib/tls_plugin.hpp).
# lib/cli/*.cpp is libmta-cli.so, the command-line parser (CLI11, compiled
# once); see CLI_SHARED_TOOLS.

CXX      ?= g++
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib
# Where the programs look for the TLS plugin when it is not beside them.
PLUGINDIR ?= $(LIBDIR)/mta

WERROR   ?= -Werror
SANITIZE ?=
OPT      ?= -O2
CXXFLAGS ?= $(OPT) -g
override CXXFLAGS += -std=c++20 -Wall -Wextra $(WERROR) $(SANITIZE) -MMD -MP -Ilib -pthread
override LDFLAGS  += $(SANITIZE) -pthread -Wl,--as-needed
LDLIBS   = -lfmt -lldns
TLS_LDLIBS = -lssl -lcrypto

MAKEFLAGS += --no-builtin-rules
ifeq ($(MAKELEVEL)$(filter -j%,$(MAKEFLAGS)),0)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

LIB_SRCS   := $(sort $(wildcard lib/*.cpp))
LIB_OBJS   := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
LIB        := $(BUILD)/libmta.a
TOOLS      := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/main.cpp)))))
TOOL_BINS  := $(TOOLS:%=$(BUILD)/%)
UNIT_SRCS  := $(sort $(filter-out tests/unit/catch_main.cpp,$(wildcard tests/unit/*.cpp)))
UNIT_OBJS  := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o)
UNIT_BIN   := $(BUILD)/unit-tests
CATCH_MAIN := $(BUILD)/tests/unit/catch_main.o
MANPAGES   := $(sort $(wildcard man/*.[1-8]))
FUZZ_SRCS  := $(sort $(wildcard fuzz/*.cpp))
FUZZ_BINS  := $(FUZZ_SRCS:fuzz/%.cpp=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60
TLS_SRCS   := $(sort $(wildcard lib/tls/*.cpp))
TLS_OBJS   := $(TLS_SRCS:%.cpp=$(BUILD)/%.pic.o)
TLS_PLUGIN := $(BUILD)/mta-tls.so
CLI_SRCS   := $(sort $(wildcard lib/cli/*.cpp))
CLI_OBJS   := $(CLI_SRCS:%.cpp=$(BUILD)/%.pic.o)
CLI_SO     := $(BUILD)/libmta-cli.so
# The programs that find libmta-cli.so at run time: beside them in a build
# tree, in PLUGINDIR once installed (RUNPATH). The others link the same
# objects in: sendmail is set-uid and must not search for libraries;
# mta-queue runs with sendmail's credentials for mailq and sendmail -q,
# where the loader ignores $ORIGIN; mta-recv is exec'd per connection and
# should not spend its start-up on the search.
CLI_SHARED_TOOLS := mta-deliver mta-route mta-send
CLI_STATIC_TOOLS := $(filter-out $(CLI_SHARED_TOOLS),$(TOOLS))
CLI_RUNPATH = -Wl,--enable-new-dtags -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/$(PLUGINDIR_FROM_SBIN)' \
	-Wl,-rpath,$(PLUGINDIR)
# PLUGINDIR seen from SBINDIR, so that an installed tree also runs where it
# was unpacked (DESTDIR).
PLUGINDIR_FROM_SBIN = $(shell realpath -m --relative-to=$(SBINDIR) $(PLUGINDIR))

.PHONY: FORCE all tools release deps check test asan asan-build demo install lint-man clean bench fuzz fuzz-build fuzzers
all: $(TOOL_BINS) $(UNIT_BIN) $(TLS_PLUGIN) $(CLI_SO)
tools: $(TOOL_BINS) $(TLS_PLUGIN) $(CLI_SO)

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

# Shared objects: position-independent, exporting only what is marked for
# export (mta_tls_engine; the classes of lib/cli/command.hpp).
$(BUILD)/%.pic.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(TLS_PLUGIN): $(TLS_OBJS)
	$(CXX) $(LDFLAGS) -shared -fPIC -o $@ $(TLS_OBJS) $(TLS_LDLIBS)

$(CLI_SO): $(CLI_OBJS)
	$(CXX) $(LDFLAGS) -shared -fPIC -Wl,-soname,libmta-cli.so -o $@ $(CLI_OBJS)

# The installed plugin's file name is compiled into the loader; the object
# is rebuilt when PREFIX, LIBDIR or PLUGINDIR change.
$(BUILD)/plugin-file: FORCE
	@mkdir -p $(@D)
	@echo '$(PLUGINDIR)/mta-tls.so' | cmp -s - $@ || echo '$(PLUGINDIR)/mta-tls.so' > $@
$(BUILD)/lib/tls_plugin.o: $(BUILD)/plugin-file
$(BUILD)/lib/tls_plugin.o: override CXXFLAGS += -DMTA_TLS_PLUGIN_FILE='"$(PLUGINDIR)/mta-tls.so"'
FORCE:

# The same for the RUNPATH of the programs that load libmta-cli.so.
$(BUILD)/runpath: FORCE
	@mkdir -p $(@D)
	@echo '$(SBINDIR) $(PLUGINDIR)' | cmp -s - $@ || echo '$(SBINDIR) $(PLUGINDIR)' > $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Each tool links every object in its own directory against the library,
# and the command-line parser, shared or not.
.SECONDEXPANSION:
$(CLI_SHARED_TOOLS:%=$(BUILD)/%): $(BUILD)/%: $$(addprefix $(BUILD)/,$$(subst .cpp,.o,$$(wildcard tools/%/*.cpp))) \
		$(LIB) $(CLI_SO) $(BUILD)/runpath
	$(CXX) $(LDFLAGS) $(CLI_RUNPATH) -o $@ $(filter %.o,$^) $(LIB) $(CLI_SO) $(LDLIBS)
$(CLI_STATIC_TOOLS:%=$(BUILD)/%): $(BUILD)/%: $$(addprefix $(BUILD)/,$$(subst .cpp,.o,$$(wildcard tools/%/*.cpp))) \
		$(LIB) $(CLI_OBJS)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

# The Catch2 main is compiled once, in its own object; test files stay cheap.
$(UNIT_BIN): $(UNIT_OBJS) $(CATCH_MAIN) $(LIB) $(CLI_OBJS)
	$(CXX) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(CATCH_MAIN) $(LIB) $(CLI_OBJS) $(LDLIBS)

# libFuzzer targets (fuzz/*.cpp), built with clang into build-fuzz/.
$(FUZZ_BINS): $(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(LIB) $(CLI_OBJS)
	$(CXX) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(CLI_OBJS) $(LDLIBS)

fuzzers: $(FUZZ_BINS)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CXX=clang++ WERROR= OPT="-O1 -g" \
	  SANITIZE="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" fuzzers

fuzz: deps fuzz-build
	@BUILD=build-fuzz scripts/fuzz-run $(FUZZ_SECONDS)

deps:
	@scripts/install-deps

# The one test command: unit and integration tests against the normal build
# and again against the ASan+UBSan build, fuzz smoke, man page lint.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory asan-build
	@BUILD=$(BUILD) ASAN_BUILD=build-asan tests/run

test: all
	@BUILD=$(BUILD) tests/run

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan-build:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 WERROR= SANITIZE="$(ASAN_FLAGS)" all

asan: deps asan-build
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run

lint-man:
	@mandoc -Tlint -Wwarning $(MANPAGES)

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/demo

# What gets installed: optimised for size, with link-time optimisation and
# unused sections dropped, stripped, without the padding that puts code
# on pages of its own in the file (-z noseparate-code; the segments keep
# their permissions), and with relative relocations packed (DT_RELR, glibc
# 2.36 and later: a fraction of their size, and fewer for the loader to
# apply). Calls into shared libraries go through the GOT, not a PLT
# (-fno-plt): no PLT stubs, the entries bound at load and read-only after
# it (RELRO), as with -z now; the start of a session measured the same.
# Tests run against the same sources in build/ (with debug information)
# and build-asan/.
RELEASE     ?= build-release
RELEASE_OPT  = -Os -flto=auto -ffunction-sections -fdata-sections -fno-plt
release:
	@$(MAKE) --no-print-directory BUILD=$(RELEASE) OPT="$(RELEASE_OPT)" LDFLAGS="-Os -flto=auto -fno-plt -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,pack-relative-relocs -s" tools

# The benchmarks measure what is installed: the release build.
bench: deps release
	@BUILD=$(RELEASE) RELEASE=$(RELEASE) bench/run

# Debian policy 11.6: sendmail in sbin and lib, mailq and newaliases in bin.
# The set-uid bit on sendmail and the spool's owner are set by mta-setup
# (docs/security.md), which needs the mail user to exist.
install: release
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(SYSCONFDIR)/mta
	install -m 0755 $(TOOLS:%=$(RELEASE)/%) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(RELEASE)/mta-tls.so $(DESTDIR)$(PLUGINDIR)/mta-tls.so
	install -m 0644 $(RELEASE)/libmta-cli.so $(DESTDIR)$(PLUGINDIR)/libmta-cli.so
	install -m 0755 contrib/mta-setup $(DESTDIR)$(SBINDIR)/mta-setup
	ln -sf ../sbin/sendmail $(DESTDIR)$(LIBDIR)/sendmail
	ln -sf ../sbin/sendmail $(DESTDIR)$(BINDIR)/mailq
	ln -sf ../sbin/sendmail $(DESTDIR)$(BINDIR)/newaliases
	for s in 5 7 8; do \
	  pages=$$(ls man/*.$$s 2>/dev/null); \
	  if [ -n "$$pages" ]; then install -d $(DESTDIR)$(MANDIR)/man$$s && install -m 0644 $$pages $(DESTDIR)$(MANDIR)/man$$s/; fi; \
	done
	install -m 0644 contrib/mta.conf.example $(DESTDIR)$(SYSCONFDIR)/mta/mta.conf.example

clean:
	rm -rf build build-asan build-fuzz build-release

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# mtalog — plain Makefile.  Override CC, CFLAGS, LDLIBS as usual.
#   make            build ./mtalog
#   make demo       install what is missing, build, ingest sample/mail.log into
#                   ./mtalog.db (the default database), search
#   make check      fast tier: unit and end-to-end tests, normal build (~1 min)
#   make test       full suite: `check`, then the same tests under ASan+UBSan
#                   (~3 min); only what the project itself writes
#   make check-corpus  the tests that read third-party logs and fixtures
#                   (../shared/corpus or MTALOG_CORPUS), normal build then
#                   ASan+UBSan (~1 min); one line saying it is skipped when
#                   the corpus is not there
#   make sample     regenerate sample/mail.log with the bench generator
#   make bench      benchmark at 100k messages (see bench/README.md)
#   make bench-full the benchmark at 100k, 1M and 10M messages
#   make bench-lag  the lag of ingest --follow over a minute of live traffic
#   make bench-cluster  lines/s through a shipper into 1, 2, 3 shards, and
#                   search --nats against one database for each query class;
#                   a report in bench/results (bench/cluster.sh)
#   make soak       ingest --follow of live traffic with rotations, serve under
#                   steady load and an hourly-style prune, SOAK_SECONDS (1800);
#                   memory, lag, errors and every row checked (tests/soak/)
#   make fuzz       libFuzzer, each target FUZZ_SECONDS (clang)
#   make peers      the parsers' agreement with the peer fixtures of the corpus,
#                   one table (tests/README.md)
#   make install    the binary, mtalog(1), the systemd units of `ingest --follow`
#                   and `serve` and their system user (PREFIX=/usr/local, DESTDIR)
#   make uninstall  remove what install wrote
#   make deps       install the Debian packages the build needs (root)
#   make test-web   browser tests of the page (headless Chromium; tests/web/)
#   make test-rsyslog  rsyslogd in front of `ingest --follow`, as docs/rsyslog.md
#                   sets it up; every line stored once across kills, restarts
#                   and rotation (tests/rsyslog/)
#   make test-chains  two real Postfix instances in a chain (edge → inner),
#                   then a real Exim edge → the Postfix inner, in network
#                   namespaces and on loopback; every recipient's final
#                   status found from the first hop (root; tests/chains/)
#   make test-cluster  3 NATS servers (JetStream), 3 shard nodes and a shipper
#                   per host, compared with a single node across faults: a
#                   NATS server, a shard, a shipper killed (tests/cluster/;
#                   about a minute)
#   make test-faults  SIGKILL at 20 random points of ingest --follow, reindex,
#                   reindex --reparse, prune and compact, and each under a file
#                   size limit (a full disk), on 20,000 messages (tests/faults/;
#                   `check` runs a short version, tests/test_faults.sh)

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g -Wall -Wextra -Wshadow -Wno-unused-parameter -std=gnu11
CPPFLAGS += -I. -D_GNU_SOURCE
LDLIBS  ?= -llmdb -lzstd -lxxhash -ljansson -lm
# no -lmicrohttpd, -lnettle, -lcrypt, -lpcre2-8, -lz: the code that needs
# them loads them (dlopen, engine/dynlib.h: serve, its users, a search by
# regular expression, gzip input), so that other commands do not (nor
# GnuTLS behind libmicrohttpd)
LDLIBS  += -lpthread
# the tests and fuzz targets that call PCRE2, zlib or libcrypt themselves
DIRECT_LDLIBS = -lpcre2-8 -lz -lcrypt
# the cluster (mtalog ship, ingest --nats; docs/cluster.md) when libnats is
# there (Debian: libnats-dev); NATS=0 builds without it.  Its commands are a
# second executable, mtalog-cluster, that mtalog starts for them: the other
# commands do not load libnats and the TLS libraries behind it (about 1 ms
# of every command's start).
NATS    ?= $(shell pkg-config --exists libnats 2>/dev/null && echo 1 || echo 0)
ifeq ($(NATS),1)
CLUSTER_BIN = $(BUILD)/mtalog-cluster
endif
TEST_LDLIBS = -lcmocka $(DIRECT_LDLIBS)

BUILD   ?= build
# ML_DEBUG: the assertions of the code (ML_ASSERT, engine/util.h) are checked
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DML_DEBUG

LIB_SRC  := $(wildcard engine/*.c) $(wildcard index/*.c) $(filter-out tools/mtalog.c,$(wildcard tools/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/web_assets.o
# the page of `mtalog serve`, embedded in the binary
WEB_SRC  := $(sort $(wildcard tools/web/*.html) $(wildcard tools/web/*.css) $(wildcard tools/web/*.js))
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SH  := $(wildcard tests/test_*.sh)
TESTLIB_OBJ := $(BUILD)/tests/testlib.o $(BUILD)/tests/parse_table.o
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_SECONDS ?= 60
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.SECONDARY:
.PHONY: all check check-corpus corpus-tier peers install uninstall test test-san test-web test-rsyslog test-chains test-cluster test-faults deps demo sample bench bench-full bench-lag bench-cluster soak fuzz clean tests-build
all: mtalog

mtalog: $(BUILD)/mtalog
	cp $< $@
	if [ -n "$(CLUSTER_BIN)" ]; then cp $(CLUSTER_BIN) mtalog-cluster; fi

$(BUILD)/mtalog: $(BUILD)/tools/mtalog.o $(BUILD)/libmtalog.a | $(CLUSTER_BIN)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the cluster's files built with libnats (ML_NATS), before the library's
# (whose builds of them only say the cluster is not in this executable)
CLUSTER_OBJ := $(addprefix $(BUILD)/nats/tools/,mtalog.o cluster.o coord.o ship.o shard.o)
$(BUILD)/mtalog-cluster: $(CLUSTER_OBJ) $(BUILD)/libmtalog.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lnats

# objects are made again when the Makefile changes (flags, -D)
$(BUILD)/nats/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DML_NATS $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libmtalog.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<


$(BUILD)/web_assets.c: $(WEB_SRC) tools/web/embed.sh
	@mkdir -p $(dir $@)
	sh tools/web/embed.sh $(WEB_SRC) > $@.tmp && mv $@.tmp $@

$(BUILD)/web_assets.o: $(BUILD)/web_assets.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJ) $(BUILD)/libmtalog.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libmtalog.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(DIRECT_LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libmtalog.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests-build: $(BUILD)/mtalog $(TEST_BIN) $(BENCH_BIN) $(REPLAY_BIN)

check: tests-build
	MTALOG_BIN=$(BUILD)/mtalog BUILD=$(BUILD) sh tests/run.sh $(TEST_BIN) $(REPLAY_BIN) $(TEST_SH)

# The corpus tier (tests/testlib.h): third-party logs and fixtures, not part
# of the project, found at MTALOG_CORPUS.  CORPUS_REQUIRED=1 makes a missing
# corpus an error (CI).
MTALOG_CORPUS ?= ../shared/corpus
check-corpus:
	@if [ -d "$(MTALOG_CORPUS)" ]; then \
		$(MAKE) --no-print-directory corpus-tier && \
		$(MAKE) --no-print-directory BUILD=build-san CFLAGS="$(SAN_FLAGS) -Wall -Wextra -std=gnu11" corpus-tier; \
	elif [ -n "$(CORPUS_REQUIRED)" ]; then \
		echo "check-corpus: no corpus at $(MTALOG_CORPUS), and CORPUS_REQUIRED is set" >&2; exit 1; \
	else \
		echo "check-corpus: skipped: no corpus at $(MTALOG_CORPUS) (MTALOG_CORPUS=DIR names one)"; \
	fi

corpus-tier: tests-build
	MTALOG_TIER=corpus MTALOG_CORPUS=$(MTALOG_CORPUS) MTALOG_BIN=$(BUILD)/mtalog BUILD=$(BUILD) \
		sh tests/run.sh $(TEST_BIN) $(REPLAY_BIN)

# The parsers against the peer fixtures of the corpus (postfix-grok-patterns,
# fail2ban, crowdsec, fluent-plugin-sendmail): one table (kept in
# tests/README.md); fails when a row differs
peers: tests-build
	@[ -d "$(MTALOG_CORPUS)" ] || { echo "peers: no corpus at $(MTALOG_CORPUS)" >&2; exit 1; }
	@for t in postfix exim sendmail filters; do \
		MTALOG_TIER=corpus MTALOG_CORPUS=$(MTALOG_CORPUS) $(BUILD)/tests/test_$$t 2>&1; \
	done | awk -f tests/peers.awk

# libFuzzer (clang): each target for FUZZ_SECONDS, seeded from tests/fuzz/seeds;
# what it finds goes to build-fuzz/NAME/ (copy a crash into the seeds to keep it)
fuzz:
	sh tools/install-deps.sh fuzz
	@for n in $(FUZZ_NAMES); do \
		mkdir -p build-fuzz/$$n && \
		clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE -o build-fuzz/fuzz_$$n \
			tests/fuzz/fuzz_$$n.c $(filter-out tools/serve.c,$(LIB_SRC)) $(LDLIBS) $(DIRECT_LDLIBS) && \
		build-fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build-fuzz/$$n tests/fuzz/seeds/$$n || exit 1; \
	done

test-san:
	$(MAKE) BUILD=build-san CFLAGS="$(SAN_FLAGS) -Wall -Wextra -std=gnu11" check

test: check test-san

# The page in headless Chromium (Debian's; `sh tools/install-deps.sh web`
# installs it, node and npm); playwright-core from tests/web/package-lock.json.
test-web: $(BUILD)/mtalog
	cd tests/web && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund; }
	MTALOG_BIN=$(CURDIR)/$(BUILD)/mtalog node tests/web/test.js

# rsyslogd (`sh tools/install-deps.sh rsyslog` installs it) writes the mail log
# that `mtalog ingest --follow` reads, with the configuration of docs/rsyslog.md;
# mtalog is killed, stopped and restarted, the log rotated (about 5 s)
test-rsyslog: $(BUILD)/mtalog
	MTALOG_BIN=$(CURDIR)/$(BUILD)/mtalog sh tests/rsyslog/run.sh

# Two Postfix instances relaying edge → inner, then an Exim edge → the
# Postfix inner (`sh tools/install-deps.sh chains`; root: network and mount
# namespaces; Exim's package downloaded once into build/exim), each mail
# followed to its last hop, in namespaces and on loopback
# (tests/chains/run.sh; about two minutes)
test-chains: $(BUILD)/mtalog
	MTALOG_BIN=$(CURDIR)/$(BUILD)/mtalog sh tests/chains/run.sh

# The cluster (docs/cluster.md; `sh tools/install-deps.sh cluster` installs
# nats-server, libnats-dev and jq): MESSAGES of bench/gen's log on 5 hosts
# plus sample/mail.log, shipped through 3 NATS servers into 3 shards
test-cluster: $(BUILD)/mtalog $(BUILD)/bench/gen
	MESSAGES=$(or $(CLUSTER_MESSAGES),2000) MTALOG_BIN=$(CURDIR)/$(BUILD)/mtalog sh tests/cluster/run.sh

# Faults (tests/faults/run.sh): each operation that writes the database killed
# at KILLS random points, then run to its end, compared with an uninterrupted
# run; each under a file size limit.  SEED=N replays the kill points.
KILLS    ?= 20
MESSAGES ?= 20000
test-faults: $(BUILD)/mtalog $(BUILD)/bench/gen
	KILLS=$(KILLS) MESSAGES=$(MESSAGES) MTALOG_BIN=$(BUILD)/mtalog BUILD=$(BUILD) sh tests/faults/run.sh

deps:
	sh tools/install-deps.sh

# Install what is missing, build, ingest the bundled sample into ./mtalog.db
# (the default database), show rows and what to try next (tools/demo.sh).
demo:
	sh tools/install-deps.sh
	$(MAKE) all
	sh tools/demo.sh ./mtalog sample/mail.log

# The sample: 2000 messages of three Postfix hosts on 1 November 2026.
sample: $(BUILD)/bench/gen
	$(BUILD)/bench/gen --messages 2000 --seed 1 --start 2026-11-01T00:00:00Z --out sample/mail.log

# Installation.  Under PREFIX (the units and sysusers.d where systemd looks
# for them under /usr/local and /usr); DESTDIR stages the files elsewhere.
# Into the running system (no DESTDIR, as root) it also creates the system
# user `mtalog` and has systemd read the units, but starts nothing.
# `uninstall` removes those files (stopping the services first); the user
# and /var/lib/mtalog, the services' database, are kept.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
UNITS       := mtalog-ingest.service mtalog-serve.service
INSTALLED    = $(BINDIR)/mtalog $(BINDIR)/mtalog-cluster $(MANDIR)/man1/mtalog.1 $(UNITS:%=$(UNITDIR)/%) $(SYSUSERSDIR)/mtalog.conf

install: $(BUILD)/mtalog
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 755 $(BUILD)/mtalog $(DESTDIR)$(BINDIR)/mtalog
	if [ -n "$(CLUSTER_BIN)" ]; then install -m 755 $(CLUSTER_BIN) $(DESTDIR)$(BINDIR)/mtalog-cluster; fi
	install -m 644 docs/mtalog.1 $(DESTDIR)$(MANDIR)/man1/mtalog.1
	for u in $(UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|g' tools/systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u.tmp && mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 644 tools/systemd/mtalog.sysusers $(DESTDIR)$(SYSUSERSDIR)/mtalog.conf
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
		if command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/mtalog.conf; fi; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "installed; to start the services: systemctl enable --now $(UNITS)"; \
	fi

uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl disable --now $(UNITS) 2>/dev/null || true; \
	fi
	rm -f $(INSTALLED:%=$(DESTDIR)%)
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@if [ -z "$(DESTDIR)" ]; then \
		echo "kept: the user mtalog and /var/lib/mtalog (the services' database): userdel mtalog; rm -r /var/lib/mtalog"; \
	fi

bench: $(BUILD)/mtalog $(BENCH_BIN)
	sh tools/install-deps.sh bench
	sh bench/run.sh

# every size in one report (long: the 10M log is 21 GB)
bench-full: $(BUILD)/mtalog $(BENCH_BIN)
	sh tools/install-deps.sh bench
	BENCH_SIZES="100000 1000000 10000000" sh bench/run.sh

# the lag from a line written to a followed log to it being searchable
bench-lag: $(BUILD)/mtalog $(BENCH_BIN)
	BUILD=$(BUILD) sh bench/lag.sh

# the cluster, briefly: one NATS server, 20,000 messages (bench/cluster.sh)
bench-cluster: $(BUILD)/mtalog $(BUILD)/bench/gen $(BUILD)/bench/bench_search
	BUILD=$(BUILD) MESSAGES=20000 sh bench/cluster.sh

# not part of CI: half an hour by default
SOAK_SECONDS ?= 1800
soak: $(BUILD)/mtalog $(BENCH_BIN)
	BUILD=$(BUILD) SOAK_SECONDS=$(SOAK_SECONDS) sh tests/soak/run.sh

clean:
	rm -rf build build-san build-fuzz mtalog mtalog-cluster

-include $(LIB_OBJ:.o=.d) $(BUILD)/tools/mtalog.d $(CLUSTER_OBJ:.o=.d) $(TEST_BIN:=.d) $(FUZZ_SRC:%.c=$(BUILD)/%.d) $(BUILD)/tests/fuzz/replay.d $(BENCH_SRC:%.c=$(BUILD)/%.d) $(BUILD)/tests/testlib.d $(BUILD)/tests/parse_table.d

build-dbg/tools/mtalog.o: tools/mtalog.c index/query.h engine/message.h \
 engine/util.h engine/banned.h index/store.h engine/util.h index/strtab.h \
 index/tokens.h tools/ingest.h index/reindex.h tools/output.h \
 tools/maint.h tools/serve.h
index/query.h:
engine/message.h:
engine/util.h:
engine/banned.h:
index/store.h:
engine/util.h:
index/strtab.h:
index/tokens.h:
tools/ingest.h:
index/reindex.h:
tools/output.h:
tools/maint.h:
tools/serve.h:

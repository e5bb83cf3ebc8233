build-dbg/tools/maint.o: tools/maint.c tools/maint.h engine/syslog.h \
 engine/util.h engine/banned.h index/prune.h index/store.h engine/util.h \
 index/strtab.h engine/message.h index/reindex.h tools/ingest.h
tools/maint.h:
engine/syslog.h:
engine/util.h:
engine/banned.h:
index/prune.h:
index/store.h:
engine/util.h:
index/strtab.h:
engine/message.h:
index/reindex.h:
tools/ingest.h:

build-dbg/index/reindex.o: index/reindex.c index/reindex.h index/store.h \
 engine/util.h engine/banned.h index/strtab.h engine/message.h \
 engine/util.h index/record.h index/writer.h
index/reindex.h:
index/store.h:
engine/util.h:
engine/banned.h:
index/strtab.h:
engine/message.h:
engine/util.h:
index/record.h:
index/writer.h:

build-dbg/index/writer.o: index/writer.c index/writer.h engine/message.h \
 engine/util.h engine/banned.h index/record.h engine/util.h \
 index/strtab.h index/store.h index/postings.h index/tokens.h
index/writer.h:
engine/message.h:
engine/util.h:
engine/banned.h:
index/record.h:
engine/util.h:
index/strtab.h:
index/store.h:
index/postings.h:
index/tokens.h:

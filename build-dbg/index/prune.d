build-dbg/index/prune.o: index/prune.c index/prune.h index/store.h \
 engine/util.h engine/banned.h index/strtab.h engine/message.h \
 engine/util.h index/postings.h index/record.h index/tokens.h
index/prune.h:
index/store.h:
engine/util.h:
engine/banned.h:
index/strtab.h:
engine/message.h:
engine/util.h:
index/postings.h:
index/record.h:
index/tokens.h:

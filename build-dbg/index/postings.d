build-dbg/index/postings.o: index/postings.c index/postings.h \
 engine/util.h engine/banned.h index/store.h index/strtab.h \
 engine/message.h engine/util.h index/tokens.h
index/postings.h:
engine/util.h:
engine/banned.h:
index/store.h:
index/strtab.h:
engine/message.h:
engine/util.h:
index/tokens.h:

build-dbg/index/query.o: index/query.c index/query.h engine/message.h \
 engine/util.h engine/banned.h index/store.h engine/util.h index/strtab.h \
 engine/syslog.h index/postings.h index/record.h index/tokens.h
index/query.h:
engine/message.h:
engine/util.h:
engine/banned.h:
index/store.h:
engine/util.h:
index/strtab.h:
engine/syslog.h:
index/postings.h:
index/record.h:
index/tokens.h:

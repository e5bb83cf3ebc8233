build-dbg/tools/ingest.o: tools/ingest.c tools/ingest.h index/reindex.h \
 index/store.h engine/util.h engine/banned.h index/strtab.h \
 engine/message.h engine/util.h engine/correlate.h engine/event.h \
 engine/message.h engine/syslog.h engine/exim.h engine/event.h \
 engine/filters.h engine/sendmail.h engine/postfix.h engine/reader.h \
 index/query.h index/writer.h index/record.h
tools/ingest.h:
index/reindex.h:
index/store.h:
engine/util.h:
engine/banned.h:
index/strtab.h:
engine/message.h:
engine/util.h:
engine/correlate.h:
engine/event.h:
engine/message.h:
engine/syslog.h:
engine/exim.h:
engine/event.h:
engine/filters.h:
engine/sendmail.h:
engine/postfix.h:
engine/reader.h:
index/query.h:
index/writer.h:
index/record.h:

build-dbg/tools/output.o: tools/output.c tools/output.h engine/message.h \
 engine/util.h engine/banned.h index/store.h engine/util.h index/strtab.h \
 engine/postfix.h engine/event.h engine/message.h engine/syslog.h \
 index/query.h index/reindex.h index/writer.h index/record.h
tools/output.h:
engine/message.h:
engine/util.h:
engine/banned.h:
index/store.h:
engine/util.h:
index/strtab.h:
engine/postfix.h:
engine/event.h:
engine/message.h:
engine/syslog.h:
index/query.h:
index/reindex.h:
index/writer.h:
index/record.h:

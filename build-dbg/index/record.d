build-dbg/index/record.o: index/record.c index/record.h engine/message.h \
 engine/util.h engine/banned.h engine/util.h index/strtab.h index/store.h
index/record.h:
engine/message.h:
engine/util.h:
engine/banned.h:
engine/util.h:
index/strtab.h:
index/store.h:

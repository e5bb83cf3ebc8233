build-dbg/index/store.o: index/store.c index/store.h engine/util.h \
 engine/banned.h index/strtab.h engine/message.h engine/util.h \
 index/legacy.h index/record.h
index/store.h:
engine/util.h:
engine/banned.h:
index/strtab.h:
engine/message.h:
engine/util.h:
index/legacy.h:
index/record.h:

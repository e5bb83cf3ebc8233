build-dbg/index/strtab.o: index/strtab.c index/strtab.h engine/message.h \
 engine/util.h engine/banned.h engine/util.h
index/strtab.h:
engine/message.h:
engine/util.h:
engine/banned.h:
engine/util.h:

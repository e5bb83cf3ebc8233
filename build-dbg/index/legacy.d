build-dbg/index/legacy.o: index/legacy.c index/legacy.h engine/message.h \
 engine/util.h engine/banned.h engine/util.h
index/legacy.h:
engine/message.h:
engine/util.h:
engine/banned.h:
engine/util.h:

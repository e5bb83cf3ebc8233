build-dbg/index/tokens.o: index/tokens.c index/tokens.h engine/message.h \
 engine/util.h engine/banned.h engine/util.h
index/tokens.h:
engine/message.h:
engine/util.h:
engine/banned.h:
engine/util.h:

build-dbg/engine/message.o: engine/message.c engine/message.h \
 engine/util.h engine/banned.h
engine/message.h:
engine/util.h:
engine/banned.h:

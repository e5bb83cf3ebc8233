build-dbg/engine/exim.o: engine/exim.c engine/exim.h engine/event.h \
 engine/message.h engine/util.h engine/banned.h
engine/exim.h:
engine/event.h:
engine/message.h:
engine/util.h:
engine/banned.h:

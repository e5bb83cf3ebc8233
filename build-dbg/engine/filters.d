build-dbg/engine/filters.o: engine/filters.c engine/filters.h \
 engine/event.h engine/message.h engine/util.h engine/banned.h
engine/filters.h:
engine/event.h:
engine/message.h:
engine/util.h:
engine/banned.h:

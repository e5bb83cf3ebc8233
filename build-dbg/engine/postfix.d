build-dbg/engine/postfix.o: engine/postfix.c engine/postfix.h \
 engine/event.h engine/message.h engine/util.h engine/banned.h
engine/postfix.h:
engine/event.h:
engine/message.h:
engine/util.h:
engine/banned.h:

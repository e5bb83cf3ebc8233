build-dbg/engine/sendmail.o: engine/sendmail.c engine/sendmail.h \
 engine/event.h engine/message.h engine/util.h engine/banned.h
engine/sendmail.h:
engine/event.h:
engine/message.h:
engine/util.h:
engine/banned.h:

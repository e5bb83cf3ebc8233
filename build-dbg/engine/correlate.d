build-dbg/engine/correlate.o: engine/correlate.c engine/correlate.h \
 engine/event.h engine/message.h engine/util.h engine/banned.h \
 engine/message.h engine/syslog.h engine/exim.h engine/event.h \
 engine/filters.h engine/sendmail.h engine/rfc2047.h
engine/correlate.h:
engine/event.h:
engine/message.h:
engine/util.h:
engine/banned.h:
engine/message.h:
engine/syslog.h:
engine/exim.h:
engine/event.h:
engine/filters.h:
engine/sendmail.h:
engine/rfc2047.h:

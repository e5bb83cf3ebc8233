build-dbg/engine/syslog.o: engine/syslog.c engine/syslog.h engine/util.h \
 engine/banned.h
engine/syslog.h:
engine/util.h:
engine/banned.h:

build-dbg/engine/rfc2047.o: engine/rfc2047.c engine/rfc2047.h \
 engine/util.h engine/banned.h
engine/rfc2047.h:
engine/util.h:
engine/banned.h:

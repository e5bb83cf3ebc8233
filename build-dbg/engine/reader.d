build-dbg/engine/reader.o: engine/reader.c engine/reader.h engine/util.h \
 engine/banned.h
engine/reader.h:
engine/util.h:
engine/banned.h:

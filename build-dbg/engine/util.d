build-dbg/engine/util.o: engine/util.c engine/util.h engine/banned.h
engine/util.h:
engine/banned.h:

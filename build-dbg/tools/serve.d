build-dbg/tools/serve.o: tools/serve.c tools/serve.h index/query.h \
 engine/message.h engine/util.h engine/banned.h index/store.h \
 engine/util.h index/strtab.h tools/output.h
tools/serve.h:
index/query.h:
engine/message.h:
engine/util.h:
engine/banned.h:
index/store.h:
engine/util.h:
index/strtab.h:
tools/output.h:

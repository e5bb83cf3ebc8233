/*
 * dynlib.h — libraries that only some commands need, loaded when one of
 * them starts (dlopen) instead of by every process.
 *
 * Every library linked into mtalog is mapped, relocated and initialised at
 * each start of the program, whatever the command: a `search` would pay
 * for the web server's libraries.  So libmicrohttpd (tools/serve.c), nettle
 * (the cursors' seals, tools/seal.c), libcrypt (the users' passwords,
 * tools/auth.c), zlib (gzip input, engine/reader.c) and PCRE2 (a search by
 * regular expression, index/query.c) are opened by the code that uses them,
 * by their soname (the ABI the headers describe), with RTLD_NOW |
 * RTLD_LOCAL, and each function looked up once into a table of typed
 * pointers (under a lock, so that threads may race to the first use).  A library loaded stays
 * loaded until the process ends: no pointer of a table can dangle.
 *
 * Errors: one line on stderr, "WHO: cannot load SONAME (why); install it:
 * apt-get install PACKAGE", or the function that the library lacks.
 */
#ifndef ML_DYNLIB_H
#define ML_DYNLIB_H

#include <stddef.h>

typedef struct {
	const char *soname;    /* "libnettle.so.8" */
	const char *package;   /* Debian's package of that soname */
	const char *who;       /* the start of an error line: "mtalog serve" */
} ml_dynlib_t;

/* Open lib and look up n functions: names[i] into *fns[i].  ML_OK, or
 * ML_EIO with the line on stderr (and every *fns[i] NULL). */
int ml_dynlib_load(const ml_dynlib_t *lib, const char *const *names, void **const *fns, size_t n);

/* The pointer of a table for ml_dynlib_load: a function pointer stored
 * through void * (POSIX guarantees dlsym's conversion). */
#define ML_DYNLIB_SLOT(p) ((void **)(void *)&(p))

/* A library loaded once, from whichever thread asks first: a static
 * ml_dynlib_once_t (zeroed), then ml_dynlib_need before each use; its
 * result is the first load's (a failure is said once). */
typedef struct {
	int state;   /* 0 not tried, 1 tried (rc set): read and set under the lock */
	int rc;
} ml_dynlib_once_t;

int ml_dynlib_need(ml_dynlib_once_t *o, const ml_dynlib_t *lib, const char *const *names, void **const *fns,
                   size_t n);

#endif

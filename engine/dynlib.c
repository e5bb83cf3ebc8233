/*
 * dynlib.c — libraries loaded by the commands that need them (see dynlib.h).
 */
#include "dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "engine/util.h"

int ml_dynlib_load(const ml_dynlib_t *lib, const char *const *names, void **const *fns, size_t n)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		/* dlerror names the library, or the dependency of it that is missing */
		fprintf(stderr, "%s: cannot load %s (%s); install it: apt-get install %s\n", lib->who, lib->soname,
		        dlerror(), lib->package);
		return ML_EIO;
	}
	for (size_t i = 0; i < n; i++) {
		if ((*fns[i] = dlsym(h, names[i])))
			continue;
		fprintf(stderr, "%s: %s has no %s (too old a version?); install the current one: apt-get install %s\n",
		        lib->who, lib->soname, names[i], lib->package);
		for (size_t j = 0; j < n; j++)
			*fns[j] = NULL;
		dlclose(h);
		return ML_EIO;
	}
	return ML_OK;
}

int ml_dynlib_need(ml_dynlib_once_t *o, const ml_dynlib_t *lib, const char *const *names, void **const *fns,
                   size_t n)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	/* (tried once: the table is set, and the store that says so is the
	 * last, so that a thread that sees it sees the table) */
	if (__atomic_load_n(&o->state, __ATOMIC_ACQUIRE))
		return o->rc;
	pthread_mutex_lock(&mu);
	if (!o->state) {
		o->rc = ml_dynlib_load(lib, names, fns, n);
		__atomic_store_n(&o->state, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&mu);
	return o->rc;
}

/*
 * dynlib.c — libraries loaded by the commands that need them (see dynlib.h).
 */
#include "dynlib.h"

#include <dlfcn.h>
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

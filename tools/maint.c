#include "maint.h"

#include <stdio.h>
#include <string.h>

int ml_maint_main(const char *db, const char *cmd, int argc, char **argv)
{
	(void)db;
	(void)argc;
	(void)argv;
	if (strcmp(cmd, "prune") && strcmp(cmd, "compact"))
		return -1;
	fprintf(stderr, "mtalog %s: not available yet\n", cmd);
	return 1;
}

/*
 * maint.h — the commands that keep a database in shape over months: prune
 * (drop old messages) and compact (rewrite the file without free pages).
 */
#ifndef ML_MAINT_H
#define ML_MAINT_H

/* Run maintenance command cmd ("prune", "compact") with its arguments on the
 * database db: its exit status, or -1 when cmd is not one of these. */
int ml_maint_main(const char *db, const char *cmd, int argc, char **argv);

#endif

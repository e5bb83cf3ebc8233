/*
 * rcpts.h — a list of recipients as a log line writes it, and the one
 * splitter every reader of such a list uses.
 *
 * A list is the bytes as logged (an ml_slice_t into the line) and its
 * separator: ' ' for Exim's "for a@x b@y" (event.h rcpt_list), ',' for
 * Sendmail's to= (to_list) and the content filters' recipients
 * (filter_rcpts: "<a@x>,<b@y>", "a@x,b@y", "x.org, y.org").  Items are
 * separated by the separator outside double quotes and angle brackets (a
 * quoted local part may hold either; an unclosed '<' runs to the end);
 * spaces and separators between items are skipped.  An item is an address,
 * "<address>" or "Name <address>": the address is the text inside its last
 * "<...>" (inside an unclosed leading '<': the rest), else the item without
 * surrounding spaces.  Empty items ("", "<>") are skipped.
 */
#ifndef ML_RCPTS_H
#define ML_RCPTS_H

#include "util.h"

/* The next address of *list (separator sep): *list is advanced past it,
 * *addr points into the list.  1 while there is one, 0 at the end (also for
 * a NULL list). */
int ml_rcpts_next(ml_slice_t *list, char sep, ml_slice_t *addr);

/* The address of one item as above ("<a@x>" → a@x, "Name <a@x>" → a@x,
 * "<>" → empty, " root " → root); points into it. */
ml_slice_t ml_rcpts_addr(ml_slice_t item);

#endif

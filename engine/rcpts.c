#include "rcpts.h"

#include <string.h>

static ml_slice_t item_addr(const char *p, const char *e)
{
	while (p < e && *p == ' ')
		p++;
	while (e > p && e[-1] == ' ')
		e--;
	if (p == e)
		return ml_slice(p, 0);
	if (e[-1] == '>') {
		const char *lt = e - 1;
		while (lt > p && lt[-1] != '<')
			lt--;
		if (lt > p)
			return ml_slice(lt, (size_t)(e - 1 - lt));
	}
	if (*p == '<') {
		const char *gt = memchr(p, '>', (size_t)(e - p));
		return ml_slice(p + 1, (size_t)((gt ? gt : e) - p - 1));
	}
	return ml_slice(p, (size_t)(e - p));
}

ml_slice_t ml_rcpts_addr(ml_slice_t item)
{
	const char *p = item.p ? item.p : "";
	return item_addr(p, p + (item.p ? item.n : 0));
}

int ml_rcpts_next(ml_slice_t *list, char sep, ml_slice_t *addr)
{
	if (!list->p)
		return 0;
	const char *p = list->p, *e = p + list->n;
	for (;;) {
		while (p < e && (*p == sep || *p == ' '))
			p++;
		if (p >= e) {
			*list = ml_slice(e, 0);
			return 0;
		}
		const char *q = p;
		int quote = 0, angle = 0;
		for (; q < e; q++) {
			char c = *q;
			if (c == '"')
				quote = !quote;
			else if (!quote && c == '<')
				angle = 1;
			else if (!quote && c == '>')
				angle = 0;
			else if (c == sep && !quote && !angle)
				break;
		}
		ml_slice_t a = item_addr(p, q);
		p = q < e ? q + 1 : e;
		*list = ml_slice(p, (size_t)(e - p));
		if (a.n) {
			*addr = a;
			return 1;
		}
	}
}

/*
 * report.c - see report.h: stacks, names and sparklines for the writers.
 */
#include "report.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

int tl_report_frames(const struct tl_report *r, uint32_t stack, struct tl_frame *out, int max)
{
	const struct tl_an_stack *st = tl_an_stack(r->a, stack);
	int n = 0;

	if (!st)
		return 0;
	for (uint32_t i = 0; i < st->n && n < max; i++)
		n += tl_sym_lookup(r->sym, st->frames[i], true, r->a->end_time, out + n, max - n);
	return n;
}

const char *tl_report_leaf_name(void *report, uint32_t stack)
{
	const struct tl_report *r = report;
	struct tl_frame f[1];

	return tl_report_frames(r, stack, f, 1) == 1 ? f[0].function : NULL;
}

void tl_report_sparkline(const struct tl_an_series *s, char *out, size_t size, int width)
{
	static const char *level[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	uint32_t top = 0, per = s->n > (uint32_t)width ? (s->n + (uint32_t)width - 1) / (uint32_t)width : 1;
	size_t o = 0;

	for (uint32_t i = 0; i < s->n; i++)
		top = s->max[i] > top ? s->max[i] : top;
	out[0] = 0;
	for (uint32_t i = 0; i < s->n; i += per) {
		uint32_t m = 0;
		size_t len;
		int lv;

		for (uint32_t k = i; k < i + per && k < s->n; k++)
			m = s->max[k] > m ? s->max[k] : m;
		lv = top ? (int)((m * 8 + top - 1) / top) : 0;
		len = strlen(level[lv]);
		if (o + len + 1 > size)
			break;
		memcpy(out + o, level[lv], len + 1);
		o += len;
	}
}

const char *tl_report_short_path(const char *path)
{
	static char cwd[PATH_MAX];
	size_t n;

	if (!path || path[0] != '/' || (!cwd[0] && !getcwd(cwd, sizeof(cwd))))
		return path;
	n = strlen(cwd);
	if (strncmp(path, cwd, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

/*
 * report.c - see report.h: stacks, names and sparklines for the writers.
 */
#include "report.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

/* A Go stack starts where the service called: Go's runtime and time
 * package inlined into the caller's frame (time.After) are left out, as
 * their own frames were when it was recorded. @return frames left. */
static int skip_go_std(struct tl__frame *f, int n)
{
	int k = 0;

	while (k < n - 1 && f[k].inlined && f[k].function &&
	       (strncmp(f[k].function, "runtime.", 8) == 0 || strncmp(f[k].function, "time.", 5) == 0))
		k++;
	memmove(f, f + k, (size_t)(n - k) * sizeof(*f));
	return n - k;
}

int tl__report_frames(const struct tl__report *r, uint32_t stack, struct tl__frame *out, int max)
{
	const struct tl__an_stack *st = tl__an_stack(r->a, stack);
	int n = 0;

	if (!st)
		return 0;
	for (uint32_t i = 0; i < st->n && n < max; i++) {
		struct tl__frame first[16];
		int k;

		if (i > 0) {
			n += tl__sym_lookup(r->sym, st->frames[i], true, r->a->end_time, out + n,
					    max - n);
			continue;
		}
		k = skip_go_std(first, tl__sym_lookup(r->sym, st->frames[0], true, r->a->end_time,
						      first, 16));
		n = k < max ? k : max;
		memcpy(out, first, (size_t)n * sizeof(*out));
	}
	return n;
}

int tl__report_callback(const struct tl__report *r, const struct tl__an_site *s,
			struct tl__frame *out)
{
	struct tl__frame f[16];

	if (!s->callback || tl__sym_lookup(r->sym, s->callback, false, r->a->end_time, f, 16) < 1)
		return 0;
	*out = f[0]; /* the function's entry: no call is inlined there */
	return out->function ? 1 : 0;
}

const char *tl__report_leaf_name(void *report, uint32_t stack)
{
	const struct tl__report *r = report;
	struct tl__frame f[1];

	return tl__report_frames(r, stack, f, 1) == 1 ? f[0].function : NULL;
}

void tl__report_sparkline(const struct tl__an_series *s, char *out, size_t size, int width)
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

const char *tl__report_short_path(const char *path)
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

/* Length of the valid UTF-8 sequence at s (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), or 0. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void tl__report_json_str(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', out);
	while (*p) {
		int n = utf8_len(p);

		if (!n) {
			fputs("\\ufffd", out);
			p++;
		} else if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p++);
		} else if (*p < 0x20) {
			fprintf(out, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, (size_t)n, out);
			p += n;
		}
	}
	fputc('"', out);
}

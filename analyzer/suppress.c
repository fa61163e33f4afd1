/*
 * suppress.c - see suppress.h.
 */
#include "suppress.h"
#include "grow.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum where { BY_FUNCTION, BY_FILE, BY_LINE };

struct rule {
	char *pattern; /* a pattern name, or "*" */
	enum where where;
	char *name;    /* function glob, or file suffix */
	int line;      /* BY_LINE */
	int lineno;    /* in the suppressions file */
};

struct tl__suppress {
	struct rule *rules;
	size_t n, cap;
};

static const char *const patterns[] = {
	"never-stopped-ticker", "after-in-loop",   "reset-without-drain", "unclosed-timerfd",
	"undeleted-posix-timer", "callback-retention", "timer-not-freed", "dropped-ticks", "*",
};

static bool known_pattern(const char *p)
{
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		if (strcmp(p, patterns[i]) == 0)
			return true;
	return false;
}

/* One line: "PATTERN PLACE", blank, or a # comment. @return 0, 1 for a
 * rule in *out, or -1 with a message. */
static int parse(char *line, struct rule *out, char *err, size_t errlen)
{
	char *save = NULL, *pat = strtok_r(line, " \t\r\n", &save);
	char *place = pat ? strtok_r(NULL, " \t\r\n", &save) : NULL;
	char *extra = place ? strtok_r(NULL, " \t\r\n", &save) : NULL;
	char *colon, *end;

	if (!pat || pat[0] == '#')
		return 0;
	if (!place || (extra && extra[0] != '#')) {
		snprintf(err, errlen, "a rule is PATTERN PLACE, e.g. \"never-stopped-ticker "
				      "fun:housekeeping\"");
		return -1;
	}
	if (!known_pattern(pat)) {
		snprintf(err, errlen, "unknown pattern %s (one of docs/detectors.md's, or *)", pat);
		return -1;
	}
	*out = (struct rule){.pattern = pat};
	if (strncmp(place, "fun:", 4) == 0 && place[4]) {
		out->where = BY_FUNCTION;
		out->name = place + 4;
	} else if (strncmp(place, "src:", 4) == 0 && place[4]) {
		out->name = place + 4;
		out->where = BY_FILE;
		colon = strrchr(out->name, ':');
		if (colon && colon[1]) {
			long n = strtol(colon + 1, &end, 10);

			if (!*end && n > 0 && n < 10000000) {
				*colon = 0;
				out->where = BY_LINE;
				out->line = (int)n;
			}
		}
	} else {
		snprintf(err, errlen, "the place is fun:FUNCTION, src:FILE:LINE or src:FILE, not %s",
			 place);
		return -1;
	}
	return 1;
}

struct tl__suppress *tl__suppress_load(const char *path, char *err, size_t errlen)
{
	struct tl__suppress *s = calloc(1, sizeof(*s));
	FILE *f = fopen(path, "re");
	char *line = NULL, msg[256];
	size_t cap = 0;
	int lineno = 0;

	if (!s || !f) {
		snprintf(err, errlen, "%s: %s", path, strerror(s ? errno : ENOMEM));
		goto fail;
	}
	while (getline(&line, &cap, f) >= 0) {
		struct rule r, *n;
		int k;

		lineno++;
		k = parse(line, &r, msg, sizeof(msg));
		if (k < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			goto fail;
		}
		if (k == 0)
			continue;
		if (!(n = tl__grow(s->rules, &s->cap, s->n + 1, sizeof(*n), 8)))
			goto nomem;
		s->rules = n;
		r.lineno = lineno;
		r.pattern = strdup(r.pattern);
		r.name = strdup(r.name);
		s->rules[s->n++] = r;
		if (!r.pattern || !r.name)
			goto nomem;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	free(line);
	fclose(f);
	return s;
nomem:
	snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
fail:
	free(line);
	if (f)
		fclose(f);
	tl__suppress_free(s);
	return NULL;
}

void tl__suppress_free(struct tl__suppress *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->rules[i].pattern);
		free(s->rules[i].name);
	}
	free(s->rules);
	free(s);
}

static bool ends_with(const char *path, const char *suffix)
{
	size_t n = strlen(path), k = strlen(suffix);

	return k <= n && strcmp(path + n - k, suffix) == 0 &&
	       (k == n || path[n - k - 1] == '/' || suffix[0] == '/');
}

static bool frame_matches(const struct rule *r, const struct tl__frame *f)
{
	switch (r->where) {
	case BY_FUNCTION:
		return f->function && fnmatch(r->name, f->function, 0) == 0;
	case BY_LINE:
		if (f->line != r->line)
			return false;
		/* fall through */
	default:
		return f->file && ends_with(f->file, r->name);
	}
}

static bool stack_matches(const struct rule *r, const struct tl__report *rep, uint32_t stack)
{
	struct tl__frame f[64];
	int n = stack ? tl__report_frames(rep, stack, f, 64) : 0;

	for (int i = 0; i < n; i++)
		if (frame_matches(r, &f[i]))
			return true;
	return false;
}

int tl__suppress_match(const struct tl__suppress *s, const struct tl__report *r,
		      const struct tl__finding *f)
{
	uint32_t site_stack = r->a->sites[f->site].stack;

	for (size_t i = 0; s && i < s->n; i++) {
		const struct rule *u = &s->rules[i];

		if (strcmp(u->pattern, "*") != 0 && strcmp(u->pattern, f->pattern) != 0)
			continue;
		if (stack_matches(u, r, site_stack) || stack_matches(u, r, f->call_stack))
			return u->lineno;
	}
	return 0;
}

int tl__suppress_split(const struct tl__suppress *s, const struct tl__report *r,
		      struct tl__finding *f, size_t *n, struct tl__finding **out, size_t *nout)
{
	size_t kept = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; s && i < *n; i++) {
		int rule = tl__suppress_match(s, r, &f[i]);
		struct tl__finding *g;

		if (!rule) {
			f[kept++] = f[i];
			continue;
		}
		if (!(g = tl__grow(*out, &cap, *nout + 1, sizeof(*g), 8)))
			return -1;
		*out = g;
		g[*nout] = f[i];
		g[(*nout)++].suppressed_by = rule;
	}
	if (s)
		*n = kept;
	return 0;
}

/*
 * feed.c - see feed.h.
 */
#include "feed.h"
#include "grow.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	return mix(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static int alias_stack(struct tl__feed *st, const struct tl_record *rec, struct tl__analysis *a,
		       struct tl__sym *sym)
{
	uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
	uint32_t first;
	uint64_t *c;

	for (uint32_t i = 0; i < rec->stack.n; i++) {
		struct tl__frame f[16];
		int n = tl__sym_lookup(sym, rec->stack.frames[i], true, st->time, f, 16);

		for (int k = 0; k < n; k++) {
			uint64_t where[2] = {f[k].file ? (uint64_t)f[k].line : f[k].offset,
					     f[k].inlined};
			const char *what = f[k].file ? f[k].file : f[k].module;

			if (!f[k].function && !f[k].file)
				where[0] = rec->stack.frames[i]; /* unknown: its address */
			h1 = mix(mix_str(mix_str(h1, f[k].function), what), where, sizeof(where));
			h2 = mix(mix_str(mix_str(h2, what), f[k].function), where, sizeof(where));
		}
	}
	h1 = mix(h1, &rec->stack.n, sizeof(rec->stack.n));
	first = tl__idmap_get(&st->first, h1);
	if (first != UINT32_MAX)
		return st->check[first] == h2 ? tl__an_stack_alias(a, rec->stack.id, (uint32_t)(
							       st->check[first + 1]))
					       : 0;
	if (!(c = tl__grow(st->check, &st->capcheck, st->ncheck + 2, sizeof(*c), 64)))
		return TL_TRACE_E_NOMEM;
	st->check = c;
	c[st->ncheck] = h2;
	c[st->ncheck + 1] = rec->stack.id;
	if (tl__idmap_put(&st->first, h1, (uint32_t)st->ncheck) != 0)
		return TL_TRACE_E_NOMEM;
	st->ncheck += 2;
	return 0;
}

int tl__feed_one(struct tl__feed *st, const struct tl_record *rec, struct tl__analysis *a,
		 struct tl__sym *sym)
{
	int err = 0;

	if (rec->time && rec->type != TL_REC_STACK)
		st->time = rec->time;
	if (rec->type == TL_REC_STACK)
		err = alias_stack(st, rec, a, sym);
	else if (rec->type == TL_REC_MODULE)
		err = tl__sym_module(sym, &rec->module, rec->time);
	else if (rec->type == TL_REC_MODULE_UNLOAD)
		tl__sym_module_unload(sym, rec->module_unload.id, rec->time);
	else if (rec->type == TL_REC_PROCESS)
		tl__sym_set_exe(sym, rec->process.exe);
	return err ? err : tl__an_feed(a, rec);
}

void tl__feed_free(struct tl__feed *st)
{
	tl__idmap_free(&st->first);
	free(st->check);
	*st = (struct tl__feed){0};
}

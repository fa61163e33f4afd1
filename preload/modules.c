/*
 * modules.c - the loaded objects, for symbolizing stacks later and
 * elsewhere: path, build-id, load bias and PT_LOAD segments of each.
 *
 * The writer thread rescans with dl_iterate_phdr at start and whenever a
 * dlopen or dlclose happened, and writes a module record for each object
 * it has not seen and an unload record for each that is gone. Only the
 * writer thread touches this state.
 */
#include "core.h"
#include "recorder_int.h"

#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

struct known {
	char *path;
	uint64_t bias;
	uint32_t id;
	bool seen; /* in the current scan */
};

static struct known *known;
static size_t nknown, capknown;
static uint32_t next_module_id = 1;
static unsigned long long scanned_adds, scanned_subs; /* the loader's counts at the last scan */

struct scan {
	struct tl_trace_writer *w;
	int64_t time;
	int err;
};

static struct known *find(const char *path, uint64_t bias)
{
	for (size_t i = 0; i < nknown; i++) {
		if (known[i].bias == bias && strcmp(known[i].path, path) == 0)
			return &known[i];
	}
	return NULL;
}

static struct known *remember(const char *path, uint64_t bias)
{
	if (nknown == capknown) {
		size_t ncap = capknown ? capknown * 2 : 64;
		struct known *n = realloc(known, ncap * sizeof(*n));

		if (!n)
			return NULL;
		known = n;
		capknown = ncap;
	}
	known[nknown] = (struct known){strdup(path), bias, next_module_id++, true};
	if (!known[nknown].path)
		return NULL;
	return &known[nknown++];
}

static int write_module(struct scan *sc, struct dl_phdr_info *info, uint32_t id)
{
	struct tl_segment segs[TL_MAX_SEGMENTS];
	struct tl_module m = {0};

	for (int i = 0; i < info->dlpi_phnum && m.nseg < TL_MAX_SEGMENTS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD)
			segs[m.nseg++] = (struct tl_segment){ph->p_vaddr, ph->p_memsz, ph->p_offset,
							     ph->p_flags};
	}
	m.id = id;
	m.bias = info->dlpi_addr;
	m.build_id_len = tl_build_id_of_loaded(info, &m.build_id);
	m.path = info->dlpi_name ? info->dlpi_name : "";
	m.segs = segs;
	return tl_trace_writer_module(sc->w, sc->time, &m);
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
	struct scan *sc = data;
	const char *path = info->dlpi_name ? info->dlpi_name : "";
	struct known *k;

	(void)size;
	scanned_adds = info->dlpi_adds;
	scanned_subs = info->dlpi_subs;
	k = find(path, info->dlpi_addr);
	if (k) {
		k->seen = true;
		return 0;
	}
	k = remember(path, info->dlpi_addr);
	if (!k)
		return 0;
	sc->err = write_module(sc, info, k->id);
	return sc->err != 0;
}

int tl__modules_scan(struct tl_trace_writer *w, int64_t time)
{
	struct scan sc = {w, time, 0};
	size_t j = 0;

	for (size_t i = 0; i < nknown; i++)
		known[i].seen = false;
	dl_iterate_phdr(visit, &sc);
	for (size_t i = 0; i < nknown; i++) {
		if (known[i].seen) {
			known[j++] = known[i];
			continue;
		}
		if (!sc.err)
			sc.err = tl_trace_writer_module_unload(w, time, known[i].id);
		free(known[i].path);
	}
	nknown = j;
	return sc.err;
}

static int counts(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long long *c = data;

	(void)size;
	c[0] = info->dlpi_adds;
	c[1] = info->dlpi_subs;
	return 1;
}

bool tl__modules_stale(void)
{
	unsigned long long c[2] = {0, 0};

	dl_iterate_phdr(counts, c);
	return c[0] != scanned_adds || c[1] != scanned_subs;
}

/* A new trace (a child after fork) describes every module again. */
void tl__modules_forget(void)
{
	known = NULL; /* the old table may be mid-update in the parent's copy: leak it */
	nknown = capknown = 0;
	next_module_id = 1;
}

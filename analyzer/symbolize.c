/*
 * symbolize.c - see symbolize.h.
 *
 * One Dwfl per object, each reporting its object at its link-time
 * addresses: lookups subtract the load bias. Objects unloaded and loaded
 * again elsewhere during the trace then never overlap in one Dwfl, and an
 * address is matched to an object by the recorded segments and load times.
 *
 * A Go binary is symbolized from its own table, .gopclntab (bpf/gosym.c),
 * with or without symbols and DWARF: function, file and line as Go's own
 * tools give them (libdw finds no lines in Go 1.19's compressed DWARF),
 * inlined calls expanded from its inline trees as Go's tracebacks do.
 */
#include "symbolize.h"
#include "gosym.h"
#include "grow.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INLINE 16

enum mod_state {
	MOD_UNOPENED,
	MOD_OK,
	MOD_MISSING,  /* no file found at any candidate path */
	MOD_MISMATCH, /* found, but with another build-id */
};

struct module {
	uint32_t id;
	char *path;      /* as recorded ("" for the executable) */
	char *shown;     /* what frames call it */
	uint64_t bias;
	uint8_t build_id[TL_MAX_BUILD_ID];
	uint32_t build_id_len;
	struct tl_segment segs[TL_MAX_SEGMENTS];
	uint32_t nseg;
	int64_t loaded, unloaded;
	enum mod_state state;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	struct tlr_gosym *go; /* a Go binary's own table: names where no symbol or DWARF is */
};

struct cached {
	uint64_t addr;   /* with bit 0 of key folded in: see cache_key */
	uint64_t key;
	uint32_t module; /* id, 0 for none */
	int n;
	struct tl__frame *frames;
};

struct tl__sym {
	struct tl__sym_opts opts;
	char *exe;
	char *debuginfo_path;
	Dwfl_Callbacks callbacks;
	struct module *mods;
	size_t nmods, capmods;
	struct cached *cache;
	size_t ncache, capcache;
	struct tl__sym_problem *problems;
	size_t nproblems, capproblems;
};

/* ---------------------------------------------------------------------------
 * Problems
 */

static void problem(struct tl__sym *s, const char *path, const char *what)
{
	struct tl__sym_problem *p =
		tl__grow(s->problems, &s->capproblems, s->nproblems + 1, sizeof(*p), 8);

	if (!p)
		return;
	s->problems = p;
	s->problems[s->nproblems++] = (struct tl__sym_problem){path, what};
}

size_t tl__sym_problems(struct tl__sym *s, const struct tl__sym_problem **out)
{
	*out = s->problems;
	return s->nproblems;
}

/* ---------------------------------------------------------------------------
 * Set-up
 */

/* libdw's search path for separate debug files: the system's, then each
 * --debug-dir (searched by build-id and by debuglink). */
static char *make_debuginfo_path(const struct tl__sym_opts *o)
{
	size_t len = 64;
	char *p;

	for (size_t i = 0; i < o->ndebug_dirs; i++)
		len += strlen(o->debug_dirs[i]) + 1;
	p = malloc(len);
	if (!p)
		return NULL;
	strcpy(p, ":.debug:/usr/lib/debug");
	for (size_t i = 0; i < o->ndebug_dirs; i++) {
		strcat(p, ":");
		strcat(p, o->debug_dirs[i]);
	}
	return p;
}

struct tl__sym *tl__sym_new(const struct tl__sym_opts *opts)
{
	struct tl__sym *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (opts)
		s->opts = *opts;
	/* Never ask a debuginfod server: the report must not touch the
	 * network, and must not wait for it. */
	unsetenv("DEBUGINFOD_URLS");
	s->debuginfo_path = make_debuginfo_path(&s->opts);
	if (!s->debuginfo_path) {
		free(s);
		return NULL;
	}
	s->callbacks.find_elf = dwfl_build_id_find_elf;
	s->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	s->callbacks.section_address = dwfl_offline_section_address;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	return s;
}

void tl__sym_free(struct tl__sym *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++) {
		if (s->mods[i].dwfl)
			dwfl_end(s->mods[i].dwfl);
		tlr_gosym_close(s->mods[i].go);
		free(s->mods[i].path);
		free(s->mods[i].shown);
	}
	for (size_t i = 0; i < s->capcache; i++)
		free(s->cache[i].frames);
	free(s->cache);
	free(s->mods);
	free(s->problems);
	free(s->debuginfo_path);
	free(s->exe);
	free(s);
}

void tl__sym_set_exe(struct tl__sym *s, const char *exe)
{
	free(s->exe);
	s->exe = exe ? strdup(exe) : NULL;
}

int tl__sym_module(struct tl__sym *s, const struct tl_module *m, int64_t time)
{
	struct module *mod;

	struct module *n = tl__grow(s->mods, &s->capmods, s->nmods + 1, sizeof(*n), 32);

	if (!n)
		return TL_TRACE_E_NOMEM;
	s->mods = n;
	mod = &s->mods[s->nmods];
	memset(mod, 0, sizeof(*mod));
	mod->id = m->id;
	mod->path = strdup(m->path ? m->path : "");
	if (!mod->path)
		return TL_TRACE_E_NOMEM;
	mod->bias = m->bias;
	mod->build_id_len = m->build_id_len <= TL_MAX_BUILD_ID ? m->build_id_len : 0;
	memcpy(mod->build_id, m->build_id, mod->build_id_len);
	mod->nseg = m->nseg <= TL_MAX_SEGMENTS ? m->nseg : TL_MAX_SEGMENTS;
	memcpy(mod->segs, m->segs, mod->nseg * sizeof(*mod->segs));
	mod->loaded = time;
	mod->unloaded = INT64_MAX;
	s->nmods++;
	return 0;
}

bool tl__sym_has_module(const struct tl__sym *s, uint32_t id)
{
	for (size_t i = 0; i < s->nmods; i++)
		if (s->mods[i].id == id && s->mods[i].unloaded == INT64_MAX)
			return true;
	return false;
}

void tl__sym_module_unload(struct tl__sym *s, uint32_t id, int64_t time)
{
	for (size_t i = s->nmods; i-- > 0;) {
		if (s->mods[i].id == id && s->mods[i].unloaded == INT64_MAX) {
			s->mods[i].unloaded = time;
			return;
		}
	}
}

/* ---------------------------------------------------------------------------
 * Opening objects
 */

static bool build_id_matches(struct module *m, Elf *elf)
{
	const void *id;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &id);

	if (m->build_id_len == 0)
		return true; /* nothing recorded to check against */
	return n == (ssize_t)m->build_id_len && memcmp(id, m->build_id, (size_t)n) == 0;
}

/* Try one candidate file. @return 1 opened and matching, 0 not there,
 * -1 there with another build-id. */
static int try_open(struct tl__sym *s, struct module *m, const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	Dwfl *dwfl;
	Dwfl_Module *dm;
	Elf *elf;
	GElf_Addr bias;

	if (fd < 0)
		return 0;
	dwfl = dwfl_begin(&s->callbacks);
	if (!dwfl) {
		close(fd);
		return 0;
	}
	dwfl_report_begin(dwfl);
	dm = dwfl_report_elf(dwfl, m->shown, file, fd, 0, false); /* dwfl owns fd now */
	dwfl_report_end(dwfl, NULL, NULL);
	elf = dm ? dwfl_module_getelf(dm, &bias) : NULL;
	if (!elf || !build_id_matches(m, elf)) {
		dwfl_end(dwfl);
		return elf ? -1 : 0;
	}
	m->dwfl = dwfl;
	m->mod = dm;
	m->go = tlr_gosym_open(file, &(int){0}); /* NULL unless a Go binary */
	return 1;
}

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');

	return b ? b + 1 : p;
}

/* Where the object may be: under the sysroot, else as recorded; then in
 * each debug dir, by its full path and by its name. */
static void open_module(struct tl__sym *s, struct module *m)
{
	const char *path = m->path[0] ? m->path : s->exe ? s->exe : "";
	char cand[4096];
	bool mismatch = false;
	int r = 0;

	m->state = MOD_MISSING;
	if (!path[0] || path[0] == '[' || strncmp(path, "linux-vdso", 10) == 0)
		return; /* the vDSO and friends have no file */
	if (s->opts.sysroot && s->opts.sysroot[0])
		snprintf(cand, sizeof(cand), "%s%s", s->opts.sysroot, path);
	else
		snprintf(cand, sizeof(cand), "%s", path);
	r = try_open(s, m, cand);
	mismatch |= r < 0;
	for (size_t i = 0; r <= 0 && i < s->opts.ndebug_dirs; i++) {
		snprintf(cand, sizeof(cand), "%s%s", s->opts.debug_dirs[i], path);
		r = try_open(s, m, cand);
		mismatch |= r < 0;
		if (r <= 0) {
			snprintf(cand, sizeof(cand), "%s/%s", s->opts.debug_dirs[i], base_name(path));
			r = try_open(s, m, cand);
			mismatch |= r < 0;
		}
	}
	if (r > 0) {
		m->state = MOD_OK;
		return;
	}
	m->state = mismatch ? MOD_MISMATCH : MOD_MISSING;
	problem(s, m->shown,
		mismatch ? "found with a different build-id than the traced binary; not trusted"
			 : "not found (use --sysroot or --debug-dir)");
}

static struct module *module_at(struct tl__sym *s, uint64_t addr, int64_t time)
{
	struct module *best = NULL;

	for (size_t i = 0; i < s->nmods; i++) {
		struct module *m = &s->mods[i];

		for (uint32_t k = 0; k < m->nseg; k++) {
			uint64_t lo = m->bias + m->segs[k].vaddr;

			if (addr < lo || addr - lo >= m->segs[k].memsz)
				continue;
			if (time >= m->loaded && time < m->unloaded)
				return m;
			best = m; /* loaded at another time: the latest such */
		}
	}
	return best;
}

/* ---------------------------------------------------------------------------
 * Looking up
 */

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));

	return name;
}

/* The file of a DW_AT_call_file index in die's CU. */
static const char *call_file(Dwarf_Die *cu, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx;
	Dwarf_Files *files;
	size_t nfiles;

	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &idx) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

static int call_line(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Word line;

	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &line) != 0)
		return 0;
	return (int)line;
}

/*
 * Frames with inlining, as eu-addr2line -i finds them: the innermost
 * function gets the line table's file:line. If it is an inlined call, the
 * scopes that physically contain that DW_TAG_inlined_subroutine entry
 * (dwarf_getscopes_die) lead out to the function it was inlined into, each
 * inlined call's DW_AT_call_file/line giving the line in the one around
 * it. (dwarf_getscopes's own list continues into the inlined function's
 * abstract definition instead, which is not where it was called from.)
 */
static bool is_function(Dwarf_Die *d)
{
	int tag = dwarf_tag(d);

	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

static int inline_chain(Dwarf_Die *cu, Dwarf_Die *inl, struct tl__frame *out, int max)
{
	Dwarf_Die *outer = NULL;
	int nouter = dwarf_getscopes_die(inl, &outer), n = 0;
	const char *file = call_file(cu, inl);
	int line = call_line(inl);

	for (int i = 1; i < nouter && n < max; i++) {
		if (!is_function(&outer[i]))
			continue;
		out[n].function = die_name(&outer[i]);
		out[n].file = file;
		out[n].line = line;
		out[n].inlined = dwarf_tag(&outer[i]) == DW_TAG_inlined_subroutine;
		n++;
		if (!out[n - 1].inlined)
			break;
		file = call_file(cu, &outer[i]);
		line = call_line(&outer[i]);
	}
	free(outer);
	return n;
}

static int lookup_dwarf(struct module *m, Dwarf_Addr a, struct tl__frame *out, int max,
			const char *file, int line)
{
	Dwarf_Addr cubias;
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, a, &cubias), *scopes = NULL;
	int nscopes = cu ? dwarf_getscopes(cu, a - cubias, &scopes) : 0;
	int n = 0;

	for (int i = 0; i < nscopes && n == 0; i++) {
		if (!is_function(&scopes[i]))
			continue;
		out[0].function = die_name(&scopes[i]);
		out[0].file = file;
		out[0].line = line;
		out[0].inlined = dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine;
		n = 1;
		if (out[0].inlined && max > 1)
			n += inline_chain(cu, &scopes[i], out + 1, max - 1);
	}
	free(scopes);
	return n;
}

static int lookup_in(struct module *m, uint64_t addr, bool is_return, struct tl__frame *out,
		     int max)
{
	Dwarf_Addr a = addr - m->bias - (is_return ? 1 : 0);
	const char *file = NULL, *sym;
	Dwfl_Line *l;
	GElf_Off off;
	GElf_Sym es;
	int line = 0, n;

	if (m->go) { /* Go's own table: what Go's tools and tracebacks say */
		struct tlr_gosym_pc pc[16];
		int k = tlr_gosym_frames(m->go, a, pc, max < 16 ? max : 16);

		for (int i = 0; i < k; i++)
			out[i] = (struct tl__frame){.function = pc[i].func, .file = pc[i].file,
						    .line = pc[i].line, .inlined = i + 1 < k};
		if (k > 0)
			return k;
	}
	l = dwfl_module_getsrc(m->mod, a);
	if (l)
		file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
	n = lookup_dwarf(m, a, out, max, file, line);
	if (n == 0) {
		sym = dwfl_module_addrinfo(m->mod, a, &off, &es, NULL, NULL, NULL);
		out[0] = (struct tl__frame){.function = sym, .file = file, .line = line};
		n = 1;
	}
	if (!out[0].function)
		out[0].function = dwfl_module_addrinfo(m->mod, a, &off, &es, NULL, NULL, NULL);
	return n;
}

static int lookup_uncached(struct tl__sym *s, uint64_t addr, bool is_return, int64_t time,
			   struct tl__frame *out, int max)
{
	struct module *m = module_at(s, addr, time);
	int n = 0;

	if (m && m->state == MOD_UNOPENED) {
		if (!m->shown)
			m->shown = strdup(m->path[0] ? m->path : s->exe ? s->exe : "[exe]");
		if (m->shown)
			open_module(s, m);
	}
	if (m && m->state == MOD_OK)
		n = lookup_in(m, addr, is_return, out, max);
	if (n == 0)
		out[n++] = (struct tl__frame){0};
	for (int i = 0; i < n; i++) {
		out[i].address = addr;
		out[i].module = m ? m->shown : NULL;
		out[i].offset = m ? addr - m->bias : addr;
	}
	return n;
}

/* ---------------------------------------------------------------------------
 * The cache: open addressing on the address, the return flag and the
 * module's load, so a reloaded object is looked up again.
 */

static uint64_t cache_key(uint64_t addr, bool is_return, struct module *m)
{
	uint64_t k = (addr << 1 | is_return) * 0x9e3779b97f4a7c15ull;

	return (k ^ (m ? (uint64_t)(uintptr_t)m->path + m->loaded : 0)) | 1;
}

static bool cache_grow(struct tl__sym *s)
{
	size_t ncap = s->capcache ? s->capcache * 2 : 1024;
	struct cached *n = calloc(ncap, sizeof(*n));

	if (!n)
		return false;
	for (size_t i = 0; i < s->capcache; i++) {
		size_t j;

		if (!s->cache[i].key)
			continue;
		for (j = s->cache[i].key & (ncap - 1); n[j].key; j = (j + 1) & (ncap - 1))
			;
		n[j] = s->cache[i];
	}
	free(s->cache);
	s->cache = n;
	s->capcache = ncap;
	return true;
}

int tl__sym_lookup(struct tl__sym *s, uint64_t addr, bool is_return, int64_t time,
		  struct tl__frame *out, int max)
{
	struct tl__frame tmp[MAX_INLINE];
	struct module *m = module_at(s, addr, time);
	uint64_t key = cache_key(addr, is_return, m);
	size_t i;
	int n;

	if (max <= 0)
		return 0;
	if ((s->ncache + 1) * 2 > s->capcache && !cache_grow(s))
		return lookup_uncached(s, addr, is_return, time, out, max);
	for (i = key & (s->capcache - 1); s->cache[i].key; i = (i + 1) & (s->capcache - 1)) {
		if (s->cache[i].key == key && s->cache[i].addr == addr) {
			n = s->cache[i].n < max ? s->cache[i].n : max;
			memcpy(out, s->cache[i].frames, (size_t)n * sizeof(*out));
			return n;
		}
	}
	n = lookup_uncached(s, addr, is_return, time, tmp, MAX_INLINE);
	s->cache[i].frames = malloc((size_t)n * sizeof(*tmp));
	if (s->cache[i].frames) {
		memcpy(s->cache[i].frames, tmp, (size_t)n * sizeof(*tmp));
		s->cache[i].key = key;
		s->cache[i].addr = addr;
		s->cache[i].n = n;
		s->ncache++;
	}
	n = n < max ? n : max;
	memcpy(out, tmp, (size_t)n * sizeof(*out));
	return n;
}

/* As /proc/self/maps shows it: the PT_LOAD segment holding addr, widened
 * to pages. pprof finds a binary's load base from such a mapping. */
bool tl__sym_object_of(struct tl__sym *s, uint64_t addr, int64_t time, struct tl__sym_object *out)
{
	struct module *m = module_at(s, addr, time);
	const uint64_t page = 4096;

	if (!m)
		return false;
	for (uint32_t k = 0; k < m->nseg; k++) {
		uint64_t lo = m->bias + m->segs[k].vaddr, hi = lo + m->segs[k].memsz;

		if (addr < lo || addr >= hi)
			continue;
		if (!m->shown)
			m->shown = strdup(m->path[0] ? m->path : s->exe ? s->exe : "[exe]");
		out->id = m->id * TL_MAX_SEGMENTS + k;
		out->start = lo & ~(page - 1);
		out->limit = (hi + page - 1) & ~(page - 1);
		out->offset = m->segs[k].offset & ~(page - 1);
		out->path = m->shown ? m->shown : m->path;
		for (uint32_t i = 0; i < m->build_id_len; i++)
			snprintf(out->build_id + 2 * i, 3, "%02x", m->build_id[i]);
		out->build_id[2 * m->build_id_len] = 0;
		return true;
	}
	return false;
}

bool tl__sym_main_object(struct tl__sym *s, struct tl__sym_object *out)
{
	for (size_t i = 0; i < s->nmods; i++) {
		struct module *m = &s->mods[i];

		if (m->path[0])
			continue;
		for (uint32_t k = 0; k < m->nseg; k++) {
			if (!(m->segs[k].flags & 1)) /* PF_X */
				continue;
			if (!tl__sym_object_of(s, m->bias + m->segs[k].vaddr, m->loaded, out))
				return false;
			out->time = m->loaded;
			return true;
		}
	}
	return false;
}

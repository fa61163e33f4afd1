/*
 * gosym.c - .gopclntab, the Go runtime's own symbol table (gosym.h).
 *
 * The table (Go 1.18 on) starts with a header: magic (u32), two zero
 * bytes, the PC quantum, the pointer size, then eight pointer-sized
 * words: the number of functions, of files, the text start (functions'
 * entries are offsets from it), and the offsets from the header of the
 * function names, the compilation units' file indexes, the file names,
 * the pc-value tables, and the function table. The function table is
 * nfunc + 1 pairs of u32 (entry offset, record offset from the function
 * table), the last pair's entry the end of the text. A function's record
 * holds, as u32 at fixed places, its entry offset, its name's offset, and
 * the offsets of its pc-value tables for the file index and the line,
 * and its compilation unit. A pc-value table is a sequence of (value
 * delta, pc delta) varint pairs, the value delta zig-zag coded, starting
 * from value -1 at the function's entry; a zero byte in a value's place
 * ends it.
 */
#include "gosym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC_118 0xfffffff0u
#define MAGIC_120 0xfffffff1u
#define HEADER (8 + 8 * 8)

struct tlr_gosym {
	unsigned char *tab;
	size_t size;
	bool v120;
	unsigned quantum;
	uint64_t nfunc, text;
	uint64_t text_addr; /* where .text begins, from the ELF headers */
	uint64_t names, cus, files, pctab, functab;
};

static uint32_t u32(const struct tlr_gosym *g, uint64_t off)
{
	uint32_t v = 0;

	if (off <= g->size && g->size - off >= 4)
		memcpy(&v, g->tab + off, 4);
	return v;
}

static uint64_t u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A NUL-terminated string at off, or NULL if it runs off the table. */
static const char *str(const struct tlr_gosym *g, uint64_t off)
{
	if (off >= g->size || !memchr(g->tab + off, 0, g->size - off))
		return NULL;
	return (const char *)g->tab + off;
}

static bool plausible(const unsigned char *p, size_t n)
{
	uint32_t magic;

	if (n < HEADER)
		return false;
	memcpy(&magic, p, 4);
	return (magic == MAGIC_118 || magic == MAGIC_120) && p[4] == 0 && p[5] == 0 &&
	       (p[6] == 1 || p[6] == 2 || p[6] == 4) && p[7] == 8;
}

/* The older tables: said, not read. */
static bool older(const unsigned char *p, size_t n)
{
	uint32_t magic;

	if (n < 8)
		return false;
	memcpy(&magic, p, 4);
	return (magic == 0xfffffffbu || magic == 0xfffffffau) && p[4] == 0 && p[5] == 0;
}

static int check(struct tlr_gosym *g)
{
	const unsigned char *p = g->tab;
	uint64_t last;

	if (!plausible(p, g->size))
		return older(p, g->size) ? TLR_GOSYM_E_VERSION : TLR_GOSYM_E_DAMAGED;
	g->v120 = u32(g, 0) == MAGIC_120;
	g->quantum = p[6];
	g->nfunc = u64(p + 8);
	g->text = u64(p + 24);
	g->names = u64(p + 32);
	g->cus = u64(p + 40);
	g->files = u64(p + 48);
	g->pctab = u64(p + 56);
	g->functab = u64(p + 64);
	if (g->nfunc == 0 || g->nfunc > (1u << 24) || g->functab >= g->size ||
	    (g->size - g->functab) / 8 < g->nfunc + 1 || g->names >= g->size ||
	    g->cus >= g->size || g->files >= g->size || g->pctab >= g->size)
		return TLR_GOSYM_E_DAMAGED;
	/* Newer linkers leave the header's text start 0 (the runtime takes
	 * it from its module data): .text's address, as the ELF file says. */
	if (g->text == 0)
		g->text = g->text_addr;
	last = u32(g, g->functab + 8 * g->nfunc);
	return last >= u32(g, g->functab) ? 0 : TLR_GOSYM_E_DAMAGED;
}

static int load(struct tlr_gosym *g, int fd, uint64_t off, uint64_t size)
{
	if (size < HEADER || size > (1ull << 31))
		return TLR_GOSYM_E_DAMAGED;
	g->tab = malloc(size);
	if (!g->tab)
		return -ENOMEM;
	g->size = size;
	if (pread(fd, g->tab, size, (off_t)off) != (ssize_t)size)
		return TLR_GOSYM_E_DAMAGED;
	return check(g);
}

/* The program headers of the 64-bit ELF file fd. @return how many, 0 if
 * it has none we can read. */
static unsigned phdrs(int fd, Elf64_Phdr ph[64])
{
	Elf64_Ehdr eh;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > 64 ||
	    pread(fd, ph, eh.e_phnum * sizeof(*ph), (off_t)eh.e_phoff) !=
		    (ssize_t)(eh.e_phnum * sizeof(*ph)))
		return 0;
	return eh.e_phnum;
}

/* Without section headers: Go's linker puts .text at the first page
 * boundary after the headers of the executable segment that holds them. */
static uint64_t text_segment(int fd)
{
	Elf64_Phdr ph[64];
	unsigned n = phdrs(fd, ph);

	for (unsigned i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X))
			return ph[i].p_vaddr + (ph[i].p_offset == 0 ? 0x1000 : 0);
	return 0;
}

/* The table by its magic in a read-only segment: from there to the
 * segment's end. */
static int find(struct tlr_gosym *g, int fd)
{
	Elf64_Phdr ph[64];
	unsigned n = phdrs(fd, ph);
	int err = TLR_GOSYM_E_NOTFOUND;

	for (unsigned i = 0; i < n && err == TLR_GOSYM_E_NOTFOUND; i++) {
		unsigned char *seg;

		if (ph[i].p_type != PT_LOAD || (ph[i].p_flags & (PF_W | PF_X)) ||
		    ph[i].p_filesz > (1ull << 31))
			continue;
		if (!(seg = malloc(ph[i].p_filesz)))
			return -ENOMEM;
		if (pread(fd, seg, ph[i].p_filesz, (off_t)ph[i].p_offset) == (ssize_t)ph[i].p_filesz) {
			for (uint64_t at = 0; at + HEADER <= ph[i].p_filesz; at += 8) {
				if (plausible(seg + at, ph[i].p_filesz - at)) {
					err = load(g, fd, ph[i].p_offset + at, ph[i].p_filesz - at);
					if (err) { /* a look-alike: look on */
						free(g->tab);
						g->tab = NULL;
						err = TLR_GOSYM_E_NOTFOUND;
						continue;
					}
					break;
				}
			}
		}
		free(seg);
	}
	return err;
}

struct tlr_gosym *tlr_gosym_open(const char *path, int *err)
{
	struct tlr_gosym *g = calloc(1, sizeof(*g));
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = TLR_GOSYM_E_NOTFOUND;
	bool sections = false; /* the section headers could be read */
	Elf64_Ehdr eh;

	if (!g || fd < 0) {
		*err = !g ? -ENOMEM : -errno;
		free(g);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		goto out;
	if (eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_shnum > 0 && eh.e_shnum < 4096 &&
	    eh.e_shstrndx < eh.e_shnum) {
		Elf64_Shdr *sh = calloc(eh.e_shnum, sizeof(*sh));

		if (sh && pread(fd, sh, eh.e_shnum * sizeof(*sh), (off_t)eh.e_shoff) ==
				  (ssize_t)(eh.e_shnum * sizeof(*sh))) {
			unsigned tab = 0;

			sections = true;
			for (unsigned i = 0; i < eh.e_shnum; i++) {
				char name[16] = "";

				if (pread(fd, name, sizeof(name) - 1,
					  (off_t)(sh[eh.e_shstrndx].sh_offset + sh[i].sh_name)) <= 0)
					continue;
				if (strcmp(name, ".text") == 0)
					g->text_addr = sh[i].sh_addr;
				else if (strcmp(name, ".gopclntab") == 0 && sh[i].sh_type != SHT_NOBITS)
					tab = i;
			}
			if (tab)
				e = load(g, fd, sh[tab].sh_offset, sh[tab].sh_size);
		}
		free(sh);
	}
	/* Only where the section headers are gone: a file that has them and
	 * no .gopclntab is not Go, whatever its data looks like. */
	if (e == TLR_GOSYM_E_NOTFOUND && !sections) {
		g->text_addr = text_segment(fd);
		e = find(g, fd);
	}
out:
	close(fd);
	if (e) {
		*err = e;
		tlr_gosym_close(g);
		return NULL;
	}
	return g;
}

void tlr_gosym_close(struct tlr_gosym *g)
{
	if (!g)
		return;
	free(g->tab);
	free(g);
}

const char *tlr_gosym_layout(const struct tlr_gosym *g)
{
	return g->v120 ? "1.20" : "1.18";
}

size_t tlr_gosym_nfuncs(const struct tlr_gosym *g)
{
	return (size_t)g->nfunc;
}

/* The record of function i (0 if it lies outside the table). */
static uint64_t record(const struct tlr_gosym *g, uint64_t i)
{
	uint64_t off = g->functab + u32(g, g->functab + 8 * i + 4);

	return off < g->size && g->size - off >= 44 ? off : 0;
}

bool tlr_gosym_func(const struct tlr_gosym *g, size_t i, const char **name, uint64_t *entry)
{
	uint64_t r;

	if (i >= g->nfunc || !(r = record(g, i)))
		return false;
	*entry = g->text + u32(g, r);
	*name = str(g, g->names + (uint64_t)(int64_t)(int32_t)u32(g, r + 4));
	if (!*name)
		*name = "?";
	return true;
}

/* The function's kind (funcID): 21 is the linker's generated code, among
 * it the ABI wrappers that share a function's name. */
#define FUNCID_WRAPPER 21

static unsigned funcid(const struct tlr_gosym *g, uint64_t i)
{
	uint64_t r = record(g, i);

	return r ? g->tab[r + (g->v120 ? 40 : 36)] : 0;
}

bool tlr_gosym_lookup(const struct tlr_gosym *g, const char *name, uint64_t *entry)
{
	bool found = false;

	for (size_t i = 0; i < g->nfunc; i++) {
		const char *n;
		uint64_t e;

		if (!tlr_gosym_func(g, i, &n, &e) || strcmp(n, name) != 0)
			continue;
		*entry = e;
		found = true;
		if (funcid(g, i) != FUNCID_WRAPPER) /* the function, not its wrapper */
			return true;
	}
	return found;
}

static bool uvarint(const struct tlr_gosym *g, uint64_t *off, uint32_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 35; shift += 7) {
		unsigned char b;

		if (*off >= g->size)
			return false;
		b = g->tab[(*off)++];
		*v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The value the pc-value table at off gives pc, in a function entered at
 * entry; -1 when the table does not cover pc. */
static int64_t pcvalue(const struct tlr_gosym *g, uint32_t off, uint64_t entry, uint64_t pc)
{
	uint64_t p = g->pctab + off, at = entry;
	uint32_t val = (uint32_t)-1; /* wraps as Go's int32 does, without UB */

	if (off == 0)
		return -1;
	for (bool first = true;; first = false) {
		uint32_t uv, pcd;

		if (p >= g->size || (g->tab[p] == 0 && !first))
			return -1;
		if (!uvarint(g, &p, &uv) || !uvarint(g, &p, &pcd))
			return -1;
		val += -(uv & 1) ^ (uv >> 1);
		at += (uint64_t)pcd * g->quantum;
		if (pc < at)
			return (int32_t)val;
	}
}

bool tlr_gosym_pc(const struct tlr_gosym *g, uint64_t pc, struct tlr_gosym_pc *out)
{
	uint64_t lo = 0, hi = g->nfunc, r, off;
	int64_t file, line;

	if (pc < g->text || pc - g->text >= u32(g, g->functab + 8 * g->nfunc) ||
	    pc - g->text < u32(g, g->functab))
		return false;
	off = pc - g->text;
	while (hi - lo > 1) { /* the last function entered at or before off */
		uint64_t mid = lo + (hi - lo) / 2;

		if (u32(g, g->functab + 8 * mid) <= off)
			lo = mid;
		else
			hi = mid;
	}
	if (!tlr_gosym_func(g, (size_t)lo, &out->func, &out->entry) || !(r = record(g, lo)))
		return false;
	out->file = NULL;
	out->line = 0;
	file = pcvalue(g, u32(g, r + 20), out->entry, pc);
	line = pcvalue(g, u32(g, r + 24), out->entry, pc);
	if (file >= 0) {
		uint32_t f = u32(g, g->cus + 4 * ((uint64_t)u32(g, r + 32) + (uint64_t)file));

		if (f != UINT32_MAX)
			out->file = str(g, g->files + f);
	}
	if (line > 0 && line < INT32_MAX)
		out->line = (int)line;
	return true;
}

/* n bytes at virtual address addr of the ELF file fd, by its segments. */
static int read_vaddr(int fd, uint64_t addr, unsigned char *buf, size_t n)
{
	Elf64_Phdr ph[64];
	unsigned nph = phdrs(fd, ph);

	if (nph == 0)
		return TLR_GOSYM_E_DAMAGED;
	for (unsigned i = 0; i < nph; i++) {
		if (ph[i].p_type != PT_LOAD || addr < ph[i].p_vaddr ||
		    addr - ph[i].p_vaddr >= ph[i].p_filesz || ph[i].p_filesz - (addr - ph[i].p_vaddr) < n)
			continue;
		if (pread(fd, buf, n, (off_t)(ph[i].p_offset + addr - ph[i].p_vaddr)) != (ssize_t)n)
			return -EIO;
		return 0;
	}
	return TLR_GOSYM_E_NOTFOUND;
}

int tlr_gosym_probe_offset(const char *path, uint64_t entry, unsigned *off)
{
	unsigned char b[24];
	unsigned at = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = read_vaddr(fd, entry, b, sizeof(b));
	close(fd);
	if (err)
		return err;
	if (b[0] == 0x4c && b[1] == 0x8d && b[2] == 0x64 && b[3] == 0x24)
		at = 5; /* lea disp8(%rsp),%r12 */
	else if (b[0] == 0x4c && b[1] == 0x8d && b[2] == 0xa4 && b[3] == 0x24)
		at = 8; /* lea disp32(%rsp),%r12 */
	/* cmp 0x10 or 0x18(%r14), %rsp (49 3b 66) or %r12 (4d 3b 66) */
	if (b[at] != (at ? 0x4d : 0x49) || b[at + 1] != 0x3b || b[at + 2] != 0x66 ||
	    (b[at + 3] != 0x10 && b[at + 3] != 0x18))
		return TLR_GOSYM_E_NOTFOUND;
	at += 4;
	if (b[at] != 0x76 && !(b[at] == 0x0f && b[at + 1] == 0x86)) /* jbe */
		return TLR_GOSYM_E_NOTFOUND;
	*off = at;
	return 0;
}

const char *tlr_gosym_strerror(int err)
{
	switch (err) {
	case TLR_GOSYM_E_NOTFOUND:
		return "no Go symbol table (.gopclntab)";
	case TLR_GOSYM_E_VERSION:
		return "a Go symbol table older than Go 1.18's";
	case TLR_GOSYM_E_DAMAGED:
		return "a damaged Go symbol table";
	default:
		return strerror(-err);
	}
}

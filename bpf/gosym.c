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
 *
 * Inlined calls: a function's record continues with npcdata u32 offsets
 * of pc-value tables and nfuncdata u32 offsets of data blocks. Table 2
 * gives each PC its index in the function's inline tree (-1: not in an
 * inlined call), block 3 is the tree: per entry the inlined function's
 * name offset and parentPc, the offset from the entry of an instruction
 * at the call site. The blocks' offsets are from the linker's go:func.*
 * symbol, which only the runtime's module data records: found as the
 * word after the module data's first, the table's own address, and the
 * pointer to the names that follows it.
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
	uint64_t vaddr;     /* the table's address in the program */
	int fd;             /* the file, for the inline trees (-1: not found) */
	uint64_t gofunc;    /* go:func.*'s address: the base of funcdata offsets */
	uint64_t ro_vaddr, ro_off, ro_size; /* the read-only segment that holds it */
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

static int load(struct tlr_gosym *g, int fd, uint64_t off, uint64_t size, uint64_t vaddr)
{
	g->vaddr = vaddr;
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
					err = load(g, fd, ph[i].p_offset + at, ph[i].p_filesz - at,
						   ph[i].p_vaddr + at);
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

/* The module data's go:func.* pointer, where its layout has one
 * (Go 1.18-1.19: word 38; 1.20 on, after the coverage counters: 40). */
#define GOFUNC_118 (38 * 8)
#define GOFUNC_120 (40 * 8)

/* The read-only segment that holds addr, or NULL. */
static const Elf64_Phdr *readonly_at(const Elf64_Phdr *ph, unsigned n, uint64_t addr)
{
	for (unsigned i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && !(ph[i].p_flags & (PF_W | PF_X)) &&
		    addr >= ph[i].p_vaddr && addr - ph[i].p_vaddr < ph[i].p_filesz)
			return &ph[i];
	return NULL;
}

/* go:func.*'s address, from the runtime's module data in the writable
 * data, and the segment that holds it (0 where it is not found: no
 * inlined calls are then told). */
static uint64_t find_gofunc(struct tlr_gosym *g, int fd)
{
	unsigned at = g->v120 ? GOFUNC_120 : GOFUNC_118;
	Elf64_Phdr ph[64];
	unsigned n = phdrs(fd, ph);
	uint64_t found = 0;

	for (unsigned i = 0; i < n && !found; i++) {
		unsigned char *seg;

		if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W) ||
		    ph[i].p_filesz < at + 8 || ph[i].p_filesz > (1ull << 31))
			continue;
		if (!(seg = malloc(ph[i].p_filesz)))
			return 0;
		if (pread(fd, seg, ph[i].p_filesz, (off_t)ph[i].p_offset) == (ssize_t)ph[i].p_filesz) {
			for (uint64_t p = 0; p + at + 8 <= ph[i].p_filesz; p += 8) {
				uint64_t rodata, gofunc;

				if (u64(seg + p) != g->vaddr || u64(seg + p + 8) != g->vaddr + g->names)
					continue;
				const Elf64_Phdr *ro;

				rodata = u64(seg + p + at - 8);
				gofunc = u64(seg + p + at);
				if (rodata <= gofunc && (ro = readonly_at(ph, n, gofunc)) != NULL) {
					found = gofunc;
					g->ro_vaddr = ro->p_vaddr;
					g->ro_off = ro->p_offset;
					g->ro_size = ro->p_filesz;
				}
				break;
			}
		}
		free(seg);
	}
	return found;
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
	g->fd = -1;
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
				char name[32] = "";

				if (pread(fd, name, sizeof(name) - 1,
					  (off_t)(sh[eh.e_shstrndx].sh_offset + sh[i].sh_name)) <= 0)
					continue;
				if (strcmp(name, ".text") == 0)
					g->text_addr = sh[i].sh_addr;
				else if ((strcmp(name, ".gopclntab") == 0 ||
					  strcmp(name, ".data.rel.ro.gopclntab") == 0) && /* PIE */
					 sh[i].sh_type != SHT_NOBITS)
					tab = i;
			}
			if (tab)
				e = load(g, fd, sh[tab].sh_offset, sh[tab].sh_size, sh[tab].sh_addr);
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
	if (e) {
		close(fd);
		*err = e;
		tlr_gosym_close(g);
		return NULL;
	}
	if ((g->gofunc = find_gofunc(g, fd)) != 0)
		g->fd = fd;
	else
		close(fd);
	return g;
}

void tlr_gosym_close(struct tlr_gosym *g)
{
	if (!g)
		return;
	if (g->fd >= 0)
		close(g->fd);
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

/* The record of the function holding pc, and its index. */
static uint64_t record_at(const struct tlr_gosym *g, uint64_t pc, uint64_t *index)
{
	uint64_t lo = 0, hi = g->nfunc, off;

	if (pc < g->text || pc - g->text >= u32(g, g->functab + 8 * g->nfunc) ||
	    pc - g->text < u32(g, g->functab))
		return 0;
	off = pc - g->text;
	while (hi - lo > 1) { /* the last function entered at or before off */
		uint64_t mid = lo + (hi - lo) / 2;

		if (u32(g, g->functab + 8 * mid) <= off)
			lo = mid;
		else
			hi = mid;
	}
	*index = lo;
	return record(g, lo);
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
	uint64_t lo, r = record_at(g, pc, &lo);
	int64_t file, line;

	if (!r || !tlr_gosym_func(g, (size_t)lo, &out->func, &out->entry))
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

/* Inlined calls (pc-value table 2, data block 3 of a function). */
#define PCDATA_INLINE  2
#define FUNCDATA_INLINE 3

/* Function record r's inline tree index at pc (-1: none), and the tree's
 * address. */
static int64_t inline_index(const struct tlr_gosym *g, uint64_t r, uint64_t entry, uint64_t pc,
			    uint64_t *tree)
{
	uint64_t at = r + (g->v120 ? 40 : 36);
	uint32_t npcdata = u32(g, r + 28), nfuncdata, off;

	if (at + 4 > g->size)
		return -1;
	nfuncdata = g->tab[at + 3];
	at += 4;
	if (npcdata <= PCDATA_INLINE || nfuncdata <= FUNCDATA_INLINE || npcdata > 64)
		return -1;
	off = u32(g, at + 4 * ((uint64_t)npcdata + FUNCDATA_INLINE));
	if (off == UINT32_MAX)
		return -1;
	*tree = g->gofunc + off;
	return pcvalue(g, u32(g, at + 4 * PCDATA_INLINE), entry, pc);
}

/* n bytes at addr of the read-only segment that holds go:func.* */
static bool read_ro(const struct tlr_gosym *g, uint64_t addr, unsigned char *buf, size_t n)
{
	return addr >= g->ro_vaddr && g->ro_size >= n && addr - g->ro_vaddr <= g->ro_size - n &&
	       pread(g->fd, buf, n, (off_t)(g->ro_off + addr - g->ro_vaddr)) == (ssize_t)n;
}

int tlr_gosym_frames(const struct tlr_gosym *g, uint64_t pc, struct tlr_gosym_pc *out, int max)
{
	uint64_t index, r, tree = 0;
	int n = 0;

	if (max <= 0 || !tlr_gosym_pc(g, pc, &out[0]))
		return 0;
	if (g->fd < 0 || !(r = record_at(g, pc, &index)))
		return 1;
	/* At most as deep as Go inlines (a guard against a tree that loops). */
	for (int depth = 0; n < max - 1 && depth < 64; depth++) {
		int64_t ix = inline_index(g, r, out[n].entry, pc, &tree);
		unsigned char e[20];
		int32_t name, parent;

		if (ix < 0 || ix > (1 << 20) ||
		    !read_ro(g, tree + (uint64_t)ix * (g->v120 ? 16 : 20), e, sizeof(e)))
			break;
		/* 1.20 on: funcID, 3 bytes, name, parentPc, startLine;
		 * before: parent (i16), funcID, byte, file, line, name, parentPc */
		memcpy(&name, e + (g->v120 ? 4 : 12), 4);
		memcpy(&parent, e + (g->v120 ? 8 : 16), 4);
		if (parent < 0 || !tlr_gosym_pc(g, out[n].entry + (uint32_t)parent, &out[n + 1]))
			break;
		/* out[n] was the outer function at pc: it is the inlined one */
		out[n].func = str(g, g->names + (uint64_t)(int64_t)name);
		if (!out[n].func)
			out[n].func = "?";
		pc = out[n].entry + (uint32_t)parent;
		n++;
	}
	return n + 1;
}

/* The file offset of n bytes at virtual address addr of the ELF file fd,
 * by its segments. */
static int vaddr_offset(int fd, uint64_t addr, size_t n, uint64_t *off)
{
	Elf64_Phdr ph[64];
	unsigned nph = phdrs(fd, ph);

	if (nph == 0)
		return TLR_GOSYM_E_DAMAGED;
	for (unsigned i = 0; i < nph; i++) {
		if (ph[i].p_type != PT_LOAD || addr < ph[i].p_vaddr ||
		    addr - ph[i].p_vaddr >= ph[i].p_filesz || ph[i].p_filesz - (addr - ph[i].p_vaddr) < n)
			continue;
		*off = ph[i].p_offset + addr - ph[i].p_vaddr;
		return 0;
	}
	return TLR_GOSYM_E_NOTFOUND;
}

/* n bytes at virtual address addr of the ELF file fd. */
static int read_vaddr(int fd, uint64_t addr, unsigned char *buf, size_t n)
{
	uint64_t off;
	int err = vaddr_offset(fd, addr, n, &off);

	if (err)
		return err;
	return pread(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -EIO;
}

int tlr_gosym_file_offset(const char *path, uint64_t addr, uint64_t *off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = vaddr_offset(fd, addr, 1, off);
	close(fd);
	return err;
}

/* n bytes of code at entry in the ELF file at path. */
static int read_code(const char *path, uint64_t entry, unsigned char *b, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = read_vaddr(fd, entry, b, n);
	close(fd);
	return err;
}

int tlr_gosym_probe_offset(const char *path, uint64_t entry, unsigned *off)
{
	unsigned char b[24];
	unsigned at = 0;
	int err = read_code(path, entry, b, sizeof(b));

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

int tlr_gosym_sched_offsets(const char *path, uint64_t entry, unsigned *pc, unsigned *bp)
{
	unsigned char b[64];
	bool from_rbp = false; /* rbx holds the caller's rbp: mov 0x0(%rbp),%rbx */
	int err = read_code(path, entry, b, sizeof(b));

	if (err)
		return err;
	*pc = *bp = 0;
	for (size_t i = 0; i + 4 <= sizeof(b) && !*bp; i++) {
		if (b[i] == 0x48 && b[i + 1] == 0x8b && b[i + 2] == 0x5d && b[i + 3] == 0x00)
			from_rbp = true;
		if (b[i] != 0x49 || b[i + 1] != 0x89) /* mov %r64,disp8(%r14) */
			continue;
		if (b[i + 2] == 0x6e) /* %rbp */
			*bp = b[i + 3];
		else if (b[i + 2] == 0x5e && from_rbp) /* %rbx, now the caller's rbp */
			*bp = b[i + 3];
		else if (b[i + 2] == 0x5e && !*pc) /* %rbx: the caller's pc, first */
			*pc = b[i + 3];
	}
	if (*pc && *bp)
		return 0;
	*pc = *bp = 0; /* both, or neither */
	return TLR_GOSYM_E_NOTFOUND;
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

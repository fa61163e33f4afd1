/*
 * goinfo.c - a Go binary's version and default settings (goinfo.h).
 *
 * The build info is 32 bytes of header: 14 bytes of magic, the pointer
 * size, a flags byte, then (before Go 1.18) two pointers. With flag bit 2
 * set (Go 1.18 on), the version and the module info follow the header
 * inline, each a varint length and its bytes. The module info is text
 * between two 16-byte sentinels; its "build\tDefaultGODEBUG=..." line
 * holds the default settings (Go 1.21 on).
 */
#include "goinfo.h"
#include "gosym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[] = "\xff Go buildinf:";
#define MAGIC_LEN 14
#define HEADER 32
#define MAX_SCAN (256u << 20)

static const unsigned char info_start[16] = {0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02,
					     0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6};
static const unsigned char info_end[16] = {0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72,
					   0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2};

/* A segment's bytes, read whole (bounded). */
struct seg {
	unsigned char *p;
	size_t n;
	bool writable;
};

static int segments(int fd, struct seg *out, int max)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	int n = 0;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		return 0;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
	    pread(fd, ph, eh.e_phnum * sizeof(*ph), (off_t)eh.e_phoff) !=
		    (ssize_t)(eh.e_phnum * sizeof(*ph)))
		return 0;
	for (unsigned i = 0; i < eh.e_phnum && n < max; i++) {
		if (ph[i].p_type != PT_LOAD || (ph[i].p_flags & PF_X) || ph[i].p_filesz == 0 ||
		    ph[i].p_filesz > MAX_SCAN)
			continue;
		out[n].p = malloc(ph[i].p_filesz);
		if (!out[n].p) {
			while (n > 0)
				free(out[--n].p);
			return -ENOMEM;
		}
		if (pread(fd, out[n].p, ph[i].p_filesz, (off_t)ph[i].p_offset) !=
		    (ssize_t)ph[i].p_filesz) {
			free(out[n].p);
			continue;
		}
		out[n].n = ph[i].p_filesz;
		out[n++].writable = ph[i].p_flags & PF_W;
	}
	return n;
}

static void set_version(struct tlr_goinfo *gi, const char *v, size_t len)
{
	if (len == 0 || len >= sizeof(gi->version))
		return;
	memcpy(gi->version, v, len);
	gi->version[len] = '\0';
	if (sscanf(gi->version, "go%d.%d", &gi->major, &gi->minor) != 2)
		gi->major = gi->minor = 0;
}

static bool uvarint(const unsigned char *p, size_t n, size_t *i, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *i < n && shift < 64; shift += 7) {
		unsigned char b = p[(*i)++];

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The version at a build info header that starts at p (n bytes left). */
static void header_version(const unsigned char *p, size_t n, struct tlr_goinfo *gi)
{
	size_t i = HEADER;
	uint64_t len;

	if (n < HEADER || !(p[15] & 2) || !uvarint(p, n, &i, &len) || len > n - i)
		return; /* before Go 1.18: pointers into the data; not read */
	for (uint64_t k = 0; k < len; k++)
		if (p[i + k] < 0x20 || p[i + k] > 0x7e)
			return;
	set_version(gi, (const char *)p + i, (size_t)len);
}

/* runtime.buildVersion among the strings: "go1.N[.M]" ending at a NUL,
 * not part of a longer word. */
static void strings_version(const struct seg *s, struct tlr_goinfo *gi)
{
	for (size_t i = 1; i + 8 < s->n && !gi->version[0]; i++) {
		size_t k = i + 4;

		if (memcmp(s->p + i, "go1.", 4) != 0 || s->p[i - 1] > 0x20)
			continue;
		while (k < s->n && ((s->p[k] >= '0' && s->p[k] <= '9') || s->p[k] == '.'))
			k++;
		if (k < s->n && s->p[k] == 0 && k > i + 4 && s->p[i + 4] != '.') {
			set_version(gi, (const char *)s->p + i, k - i);
			gi->from_strings = gi->version[0] != '\0';
		}
	}
}

/* DefaultGODEBUG's asynctimerchan, from the module info. */
static void settings(const struct seg *s, struct tlr_goinfo *gi)
{
	const unsigned char *a = memmem(s->p, s->n, info_start, sizeof(info_start)), *b;
	const char *line, *v;
	char text[4096];
	size_t len;

	if (!a || !(b = memmem(a, s->n - (size_t)(a - s->p), info_end, sizeof(info_end))))
		return;
	len = (size_t)(b - a) - sizeof(info_start);
	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, a + sizeof(info_start), len);
	text[len] = '\0';
	if (!(line = strstr(text, "build\tDefaultGODEBUG=")))
		return;
	for (v = strstr(line, "asynctimerchan="); v && v < line + strcspn(line, "\n");
	     v = strstr(v + 1, "asynctimerchan="))
		if (v[15] == '0' || v[15] == '1')
			gi->async_default = v[15] - '0';
}

int tlr_goinfo_read(const char *path, struct tlr_goinfo *gi)
{
	struct seg segs[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC), n, go = 0, err = 0;
	struct tlr_gosym *sym;

	memset(gi, 0, sizeof(*gi));
	gi->async_default = -1;
	if (fd < 0)
		return -errno;
	n = segments(fd, segs, 16);
	close(fd);
	if (n < 0)
		return n;
	for (int i = 0; i < n && !go; i++) {
		for (size_t k = 0; segs[i].writable && k + HEADER <= segs[i].n; k += 16) {
			if (memcmp(segs[i].p + k, magic, MAGIC_LEN) == 0) {
				header_version(segs[i].p + k, segs[i].n - k, gi);
				go = 1;
				break;
			}
		}
	}
	if (!go && (sym = tlr_gosym_open(path, &err)) != NULL) {
		tlr_gosym_close(sym);
		go = 1;
	}
	for (int i = 0; i < n; i++) {
		if (go && !gi->version[0] && !segs[i].writable)
			strings_version(&segs[i], gi);
		if (go && gi->async_default < 0)
			settings(&segs[i], gi);
		free(segs[i].p);
	}
	return go;
}

int tlr_goinfo_async_timers(const struct tlr_goinfo *gi, const char *godebug)
{
	int v = gi->async_default;

	for (const char *p = godebug; p && (p = strstr(p, "asynctimerchan=")) != NULL; p++)
		if ((p == godebug || p[-1] == ',') && (p[15] == '0' || p[15] == '1'))
			v = p[15] - '0';
	if (!gi->major)
		return v;
	if (gi->major == 1 && gi->minor < 23)
		return 1; /* the setting came with Go 1.23 */
	return v < 0 ? 0 : v;
}

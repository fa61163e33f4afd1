/*
 * goinfo.c - the Go version in a binary's build info (goinfo.h).
 *
 * The build info is 32 bytes of header: 14 bytes of magic, the pointer
 * size, a flags byte, then (pre-1.18 layout) two pointers to the version
 * and module strings. With flag bit 2 set (Go 1.18 on), the strings follow
 * the header inline, each a varint length and its bytes: the version
 * first. The header is 16-byte aligned.
 */
#include "goinfo.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[] = "\xff Go buildinf:";
#define MAGIC_LEN 14
#define HEADER 32
#define CHUNK (1 << 20)

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* The version at the build info that starts at p (n bytes readable). */
static void version(const unsigned char *p, size_t n, struct tlr_goinfo *gi)
{
	uint64_t len = 0;
	size_t i = HEADER;

	gi->version[0] = '\0';
	if (n < HEADER || !(p[15] & 2))
		return; /* before Go 1.18: pointers into the data; not needed */
	for (int shift = 0; i < n && shift < 64; shift += 7) {
		len |= (uint64_t)(p[i] & 0x7f) << shift;
		if (!(p[i++] & 0x80))
			break;
	}
	if (len == 0 || len >= sizeof(gi->version) || i + len > n)
		return;
	memcpy(gi->version, p + i, len);
	gi->version[len] = '\0';
	for (size_t k = 0; k < len; k++)
		if (gi->version[k] < 0x20 || gi->version[k] > 0x7e)
			gi->version[0] = '\0';
}

/* Look for the magic in [off, off + size) of the file. @return 1 found. */
static int scan(int fd, uint64_t off, uint64_t size, struct tlr_goinfo *gi)
{
	unsigned char *buf = malloc(CHUNK + 256);
	int found = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t at = off & ~15ull; at < off + size && !found; at += CHUNK) {
		ssize_t n = pread(fd, buf, CHUNK + 256, (off_t)at);

		if (n <= 0)
			break;
		for (size_t i = 0; i + MAGIC_LEN <= (size_t)n && i < CHUNK; i += 16) {
			if (memcmp(buf + i, magic, MAGIC_LEN) == 0) {
				version(buf + i, (size_t)n - i, gi);
				found = 1;
				break;
			}
		}
	}
	free(buf);
	return found;
}

int tlr_goinfo_read(const char *path, struct tlr_goinfo *gi)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;

	memset(gi, 0, sizeof(*gi));
	if (fd < 0)
		return -errno;
	if (!read_at(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64) {
		close(fd);
		return 0;
	}
	/* The section, by name. */
	if (eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_shnum > 0 && eh.e_shnum < 4096 &&
	    eh.e_shstrndx < eh.e_shnum) {
		Elf64_Shdr *sh = calloc(eh.e_shnum, sizeof(*sh));
		Elf64_Shdr *strs = sh ? &sh[eh.e_shstrndx] : NULL;

		if (sh && read_at(fd, sh, eh.e_shnum * sizeof(*sh), eh.e_shoff)) {
			for (unsigned i = 0; i < eh.e_shnum && !found; i++) {
				char name[16] = "";

				if (sh[i].sh_name < strs->sh_size &&
				    read_at(fd, name, sizeof(name) - 1, strs->sh_offset + sh[i].sh_name) &&
				    strcmp(name, ".go.buildinfo") == 0)
					found = scan(fd, sh[i].sh_offset, 16, gi);
			}
		}
		free(sh);
	}
	/* No such section: the writable segments. */
	if (!found && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum > 0 && eh.e_phnum < 256) {
		Elf64_Phdr ph[256];

		if (read_at(fd, ph, eh.e_phnum * sizeof(*ph), eh.e_phoff)) {
			for (unsigned i = 0; i < eh.e_phnum && found == 0; i++)
				if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_W))
					found = scan(fd, ph[i].p_offset, ph[i].p_filesz, gi);
		}
	}
	close(fd);
	return found < 0 ? found : found > 0;
}

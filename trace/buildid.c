/*
 * buildid.c - the build-id of a loaded object, for module records.
 */
#include "tl_trace.h"

#include <elf.h>
#include <link.h>
#include <string.h>

uint32_t tl_build_id_in_notes(const void *notes, size_t size, const uint8_t **out)
{
	const uint8_t *p = notes;

	for (size_t at = 0; at < size && size - at >= sizeof(ElfW(Nhdr));) {
		ElfW(Nhdr) nh;
		size_t name, desc;

		memcpy(&nh, p + at, sizeof(nh)); /* notes need not be aligned here */
		name = ((size_t)nh.n_namesz + 3) & ~(size_t)3;
		desc = ((size_t)nh.n_descsz + 3) & ~(size_t)3;
		if (name > size - at - sizeof(nh) || nh.n_descsz > size - at - sizeof(nh) - name)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp(p + at + sizeof(nh), "GNU", 4) == 0 && nh.n_descsz <= TL_MAX_BUILD_ID) {
			*out = p + at + sizeof(nh) + name;
			return nh.n_descsz;
		}
		if (desc > size - at - sizeof(nh) - name)
			break;
		at += sizeof(nh) + name + desc;
	}
	*out = NULL;
	return 0;
}

uint32_t tl_build_id_of_loaded(const struct dl_phdr_info *info, const uint8_t **out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint32_t n;

		if (ph->p_type == PT_NOTE &&
		    (n = tl_build_id_in_notes((const void *)(info->dlpi_addr + ph->p_vaddr),
					      ph->p_memsz, out)) != 0)
			return n;
	}
	*out = NULL;
	return 0;
}

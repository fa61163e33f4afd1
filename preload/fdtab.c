/*
 * fdtab.c - which descriptors are timerfds, and of which timer.
 *
 * A two-level table indexed by descriptor, pages mapped on first use, one
 * 64-bit word per descriptor: the timer id, its clock, and whether the
 * descriptor was ever duplicated. A timerfd lives until its last
 * descriptor closes: a close of a never-duplicated descriptor ends the
 * timer at once; otherwise the table is searched for another descriptor
 * of the same timer, which costs a scan, but only for duplicated
 * timerfds. Two threads closing two duplicates of one timerfd at the same
 * moment may both see themselves last; the analyzer ignores the second
 * free.
 *
 * Every operation is a handful of atomics: no lock, no malloc, safe in a
 * signal handler. A close of a descriptor that is not a timerfd costs one
 * load of a flag until the first timerfd, and a table lookup after.
 *
 * The first page (descriptors below 4096, where nearly every timerfd
 * lives) is mapped at start-up, so that a program that lowers its
 * address-space limit later still has it; a later page that cannot be
 * mapped leaves its timerfd untracked, and the caller counts it.
 */
#include "core.h"

#include <sys/mman.h>

#define PAGE_BITS 12
#define PAGE_SIZE_FDS (1u << PAGE_BITS)
#define PAGES 256 /* 2^20 descriptors */

#define CLOCK_BITS 4
#define DUP_BIT    (1ull << CLOCK_BITS)
#define ID_SHIFT   (CLOCK_BITS + 1)

static _Atomic(_Atomic uint64_t *) pages[PAGES];
static _Atomic int any_fd;
static _Atomic int max_fd = -1;

static _Atomic uint64_t *slot(int fd, bool create)
{
	unsigned p = (unsigned)fd >> PAGE_BITS;
	_Atomic uint64_t *page, *none = NULL;

	if (fd < 0 || p >= PAGES)
		return NULL;
	page = atomic_load_explicit(&pages[p], memory_order_acquire);
	if (page || !create)
		return page ? &page[fd & (PAGE_SIZE_FDS - 1)] : NULL;
	page = mmap(NULL, PAGE_SIZE_FDS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return NULL;
	if (!atomic_compare_exchange_strong(&pages[p], &none, page)) {
		munmap(page, PAGE_SIZE_FDS * sizeof(uint64_t));
		page = none;
	}
	return &page[fd & (PAGE_SIZE_FDS - 1)];
}

static void note_max(int fd)
{
	int m = atomic_load(&max_fd);

	while (fd > m && !atomic_compare_exchange_weak(&max_fd, &m, fd))
		;
}

bool tl__fd_any(void)
{
	return atomic_load_explicit(&any_fd, memory_order_relaxed);
}

int tl__fd_max(void)
{
	return atomic_load(&max_fd);
}

void tl__fd_prepare(void)
{
	slot(0, true);
}

bool tl__fd_created(int fd, uint64_t id, int clockid)
{
	_Atomic uint64_t *s = slot(fd, true);

	if (!s)
		return false; /* beyond 2^20 descriptors, or no memory for the page */
	atomic_store(s, (id << ID_SHIFT) | ((uint64_t)clockid & ((1u << CLOCK_BITS) - 1)));
	note_max(fd);
	atomic_store_explicit(&any_fd, 1, memory_order_relaxed);
	return true;
}

uint64_t tl__fd_lookup(int fd, int *clockid)
{
	_Atomic uint64_t *s = slot(fd, false);
	uint64_t e = s ? atomic_load_explicit(s, memory_order_acquire) : 0;

	if (clockid)
		*clockid = (int)(e & ((1u << CLOCK_BITS) - 1));
	return e >> ID_SHIFT;
}

static bool other_holder(uint64_t id)
{
	int m = atomic_load(&max_fd);

	for (int fd = 0; fd <= m; fd++) {
		_Atomic uint64_t *s = slot(fd, false);

		if (s && (atomic_load(s) >> ID_SHIFT) == id)
			return true;
	}
	return false;
}

uint64_t tl__fd_forget(int fd)
{
	_Atomic uint64_t *s = slot(fd, false);
	uint64_t e, id;

	if (!s)
		return 0;
	e = atomic_exchange(s, 0);
	id = e >> ID_SHIFT;
	if (!id)
		return 0;
	if ((e & DUP_BIT) && other_holder(id))
		return 0;
	return id;
}

void tl__fd_dup(int oldfd, int newfd)
{
	_Atomic uint64_t *so = slot(oldfd, false), *sn;
	uint64_t e;

	if (!so || !(e = atomic_load(so)))
		return;
	while (!(e & DUP_BIT) && !atomic_compare_exchange_weak(so, &e, e | DUP_BIT))
		;
	sn = slot(newfd, true);
	if (!sn)
		return;
	atomic_store(sn, e | DUP_BIT);
	note_max(newfd);
}

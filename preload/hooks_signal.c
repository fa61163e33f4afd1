/*
 * hooks_signal.c - sigaction() and signal(), through the table of who
 * handles each fatal signal (fatal.c): the recorder's handler stands in
 * for the default action, and the program sees and sets only its own.
 */
#include "real.h"
#include "tl_preload.h"

#define HOOK TL_EXPORT

HOOK TL_EARLY int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	tl__real_libc_init();
	return tl__fatal_sigaction(sig, act, old);
}

HOOK TL_EARLY sighandler_t signal(int sig, sighandler_t handler)
{
	tl__real_libc_init();
	return tl__fatal_signal(sig, handler);
}

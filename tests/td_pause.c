/*
 * td_pause.c - libtd_pause.so: preloaded with TD_PAUSE=1, it stops the
 * program with SIGSTOP before main(), its libraries loaded, so that a test
 * can attach timerleak-record to it and then let it run (SIGCONT): the
 * whole of its work recorded from outside, from its first timer on.
 */
#include <signal.h>
#include <stdlib.h>

__attribute__((constructor)) static void pause_here(void)
{
	const char *v = getenv("TD_PAUSE");

	if (v && v[0] == '1') {
		unsetenv("TD_PAUSE"); /* not its children */
		raise(SIGSTOP);
	}
}

/*
 * preload_clock.c - when the recorder says events happened, against
 * CLOCK_MONOTONIC read around them (preload/clock.h).
 *
 * For about --ms milliseconds (default 400: the recorder's first TSC rate
 * comes 10 ms in, and new bases follow at 20, 40, 80... ms), makes a
 * timerfd every 500 us: reads CLOCK_MONOTONIC, calls timerfd_create,
 * reads it again, closes the descriptor. Prints one line per timerfd:
 *   before=NS after=NS
 * preload_robust.sh's clock scenarios check that the trace's create event
 * of each lies between the two.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int64_t ms = argc > 2 && strcmp(argv[1], "--ms") == 0 ? atoll(argv[2]) : 400;
	int64_t end = now() + ms * 1000000;

	while (now() < end) {
		int64_t before = now();
		int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		int64_t after = now();

		if (fd < 0) {
			perror("timerfd_create");
			return 1;
		}
		close(fd);
		printf("before=%lld after=%lld\n", (long long)before, (long long)after);
		usleep(500);
	}
	return 0;
}

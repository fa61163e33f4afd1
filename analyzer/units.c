/*
 * units.c - see units.h.
 */
#include "units.h"

#include <stdio.h>

char *tl__fmt_bytes(char *buf, size_t size, uint64_t bytes)
{
	static const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, v < 10 ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

char *tl__fmt_ns(char *buf, size_t size, double ns)
{
	static const struct {
		double scale;
		const char *name;
	} u[] = {{3600e9, "h"}, {60e9, "min"}, {1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}};

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		double v = ns / u[i].scale;

		if (v >= 1 || i == sizeof(u) / sizeof(u[0]) - 1) {
			snprintf(buf, size, v < 10 && v != (long)v ? "%.1f %s" : "%.0f %s", v,
				 u[i].name);
			return buf;
		}
	}
	return buf;
}

char *tl__fmt_count(char *buf, size_t size, uint64_t n)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n), o = 0;

	for (int i = 0; i < len && (size_t)o + 2 < size; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = 0;
	return buf;
}

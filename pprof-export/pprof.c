/*
 * pprof.c - see tl_pprof.h. The wire format is protobuf's: each field a
 * varint key (number << 3 | wire type), then a varint (type 0) or a
 * length and bytes (type 2). Repeated scalars are written packed, as
 * proto3 does. Nested messages are encoded into a scratch buffer first,
 * then copied with their length.
 */
#include "tl_pprof.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---------------------------------------------------------------------------
 * Growable buffers and the wire format
 */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;
		uint8_t *np;

		while (ncap < b->len + n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put(b, tmp, n);
}

/* A varint field, omitted when zero (proto3's default). */
static void field_varint(struct buf *b, unsigned num, uint64_t v)
{
	if (!v)
		return;
	varint(b, (uint64_t)num << 3);
	varint(b, v);
}

static void field_bytes(struct buf *b, unsigned num, const void *data, size_t n)
{
	varint(b, (uint64_t)num << 3 | 2);
	varint(b, n);
	put(b, data, n);
}

static void field_msg(struct buf *b, unsigned num, struct buf *msg)
{
	field_bytes(b, num, msg->p, msg->len);
	b->oom |= msg->oom;
	msg->len = 0;
}

static void field_packed(struct buf *b, unsigned num, const uint64_t *v, size_t n,
			 struct buf *scratch)
{
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		varint(scratch, v[i]);
	field_msg(b, num, scratch);
}

/* ---------------------------------------------------------------------------
 * Interning: strings, functions, locations, all by hashing.
 */

struct slot {
	uint64_t hash;
	uint64_t id; /* 0: empty */
};

struct table {
	struct slot *s;
	size_t cap, count;
};

static uint64_t hash_bytes(const void *data, size_t n, uint64_t h)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The slot for hash whose id satisfies eq(ctx, id); an empty slot if none. */
static struct slot *find(struct table *t, uint64_t hash, bool (*eq)(void *, uint64_t), void *ctx)
{
	for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (!t->s[i].id || (t->s[i].hash == hash && eq(ctx, t->s[i].id)))
			return &t->s[i];
	}
}

static bool grow(struct table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 256;
	struct slot *n = calloc(ncap, sizeof(*n));

	if (!n)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->s[i].id)
			continue;
		for (j = t->s[i].hash & (ncap - 1); n[j].id; j = (j + 1) & (ncap - 1))
			;
		n[j] = t->s[i];
	}
	free(t->s);
	t->s = n;
	t->cap = ncap;
	return true;
}

static bool room(struct table *t)
{
	return (t->count + 1) * 2 <= t->cap || grow(t);
}

/* ---------------------------------------------------------------------------
 * The profile
 */

struct function {
	uint64_t name, file; /* string indexes */
	int64_t start_line;
};

struct mapping {
	uint64_t start, limit, offset, file, build_id;
	bool symbolized;
};

struct location {
	uint64_t mapping, address;
	size_t first_line, nlines; /* into lines[] */
};

struct sample {
	size_t first_loc, nlocs;     /* into sample_locs[] */
	size_t first_value;          /* into values[], ntypes of them */
	size_t first_label, nlabels; /* into labels[] */
};

struct label {
	uint64_t key, str, unit;
	int64_t num;
};

struct tl_pprof {
	size_t ntypes;
	uint64_t *type_idx, *unit_idx;
	uint64_t period_type, period_unit, default_type;
	int64_t period, time_nanos, duration_nanos;

	char **strings;
	size_t nstrings, capstrings;
	struct table string_ids;

	struct function *functions;
	size_t nfunctions, capfunctions;
	struct table function_ids;

	struct mapping *mappings;
	size_t nmappings, capmappings;

	struct location *locations;
	size_t nlocations, caplocations;
	struct table location_ids;
	struct tl_pprof_line *lines;
	size_t nlines, caplines;

	struct sample *samples;
	size_t nsamples, capsamples;
	uint64_t *sample_locs;
	size_t nsample_locs, capsample_locs;
	int64_t *values;
	size_t nvalues, capvalues;
	struct label *labels;
	size_t nlabels, caplabels;
	uint64_t *comments;
	size_t ncomments, capcomments;
	bool oom;
};

/* Grow array *a of *cap elements of size sz to hold n more. */
static bool reserve(void *a, size_t *cap, size_t len, size_t more, size_t sz)
{
	void **arr = a;
	size_t ncap = *cap ? *cap : 16;
	void *n;

	if (len + more <= *cap)
		return true;
	while (ncap < len + more)
		ncap *= 2;
	n = realloc(*arr, ncap * sz);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

#define RESERVE(p, name, more)                                                                     \
	reserve(&(p)->name, &(p)->cap##name, (p)->n##name, (more), sizeof(*(p)->name))

struct str_key {
	struct tl_pprof *p;
	const char *s;
};

static bool str_eq(void *ctx, uint64_t id)
{
	struct str_key *k = ctx;

	return strcmp(k->p->strings[id - 1], k->s) == 0;
}

/* The string table index of s (ids in the hash table are index + 1). */
static uint64_t string(struct tl_pprof *p, const char *s)
{
	struct str_key k = {p, s ? s : ""};
	uint64_t h = hash_bytes(k.s, strlen(k.s), 0xcbf29ce484222325ull);
	struct slot *sl;

	if (p->oom || !room(&p->string_ids) || !RESERVE(p, strings, 1)) {
		p->oom = true;
		return 0;
	}
	sl = find(&p->string_ids, h, str_eq, &k);
	if (sl->id)
		return sl->id - 1;
	p->strings[p->nstrings] = strdup(k.s);
	if (!p->strings[p->nstrings]) {
		p->oom = true;
		return 0;
	}
	*sl = (struct slot){h, ++p->nstrings};
	p->string_ids.count++;
	return p->nstrings - 1;
}

struct tl_pprof *tl_pprof_new(const struct tl_pprof_value_type *types, size_t ntypes)
{
	struct tl_pprof *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->ntypes = ntypes;
	p->type_idx = calloc(ntypes ? ntypes : 1, sizeof(uint64_t));
	p->unit_idx = calloc(ntypes ? ntypes : 1, sizeof(uint64_t));
	if (!p->type_idx || !p->unit_idx) {
		tl_pprof_free(p);
		return NULL;
	}
	string(p, ""); /* index 0, as the format requires */
	for (size_t i = 0; i < ntypes; i++) {
		p->type_idx[i] = string(p, types[i].type);
		p->unit_idx[i] = string(p, types[i].unit);
	}
	if (p->oom) {
		tl_pprof_free(p);
		return NULL;
	}
	return p;
}

void tl_pprof_free(struct tl_pprof *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->string_ids.s);
	free(p->functions);
	free(p->function_ids.s);
	free(p->mappings);
	free(p->locations);
	free(p->location_ids.s);
	free(p->lines);
	free(p->samples);
	free(p->sample_locs);
	free(p->values);
	free(p->labels);
	free(p->comments);
	free(p->type_idx);
	free(p->unit_idx);
	free(p);
}

void tl_pprof_set_period(struct tl_pprof *p, const char *type, const char *unit, int64_t period)
{
	p->period_type = string(p, type);
	p->period_unit = string(p, unit);
	p->period = period;
}

void tl_pprof_set_time(struct tl_pprof *p, int64_t time_nanos, int64_t duration_nanos)
{
	p->time_nanos = time_nanos;
	p->duration_nanos = duration_nanos;
}

void tl_pprof_set_default(struct tl_pprof *p, const char *type)
{
	p->default_type = string(p, type);
}

int tl_pprof_add_comment(struct tl_pprof *p, const char *comment)
{
	uint64_t s = string(p, comment);

	if (p->oom || !RESERVE(p, comments, 1))
		return -1;
	p->comments[p->ncomments++] = s;
	return 0;
}

uint64_t tl_pprof_mapping(struct tl_pprof *p, uint64_t start, uint64_t limit, uint64_t offset,
			  const char *file, const char *build_id, bool symbolized)
{
	struct mapping m = {start, limit, offset, string(p, file), string(p, build_id), symbolized};

	if (p->oom || !RESERVE(p, mappings, 1))
		return 0;
	p->mappings[p->nmappings++] = m;
	return p->nmappings;
}

struct fn_key {
	struct tl_pprof *p;
	struct function f;
};

static bool fn_eq(void *ctx, uint64_t id)
{
	struct fn_key *k = ctx;
	const struct function *f = &k->p->functions[id - 1];

	return f->name == k->f.name && f->file == k->f.file && f->start_line == k->f.start_line;
}

uint64_t tl_pprof_function(struct tl_pprof *p, const char *name, const char *file,
			   int64_t start_line)
{
	struct fn_key k = {p, {string(p, name), string(p, file), start_line}};
	uint64_t h = hash_bytes(&k.f, sizeof(k.f), 0x84222325cbf29ce4ull);
	struct slot *sl;

	if (p->oom || !room(&p->function_ids) || !RESERVE(p, functions, 1))
		return 0;
	sl = find(&p->function_ids, h, fn_eq, &k);
	if (sl->id)
		return sl->id;
	p->functions[p->nfunctions++] = k.f;
	*sl = (struct slot){h, p->nfunctions};
	p->function_ids.count++;
	return p->nfunctions;
}

struct loc_key {
	struct tl_pprof *p;
	uint64_t mapping, address;
};

static bool loc_eq(void *ctx, uint64_t id)
{
	struct loc_key *k = ctx;
	const struct location *l = &k->p->locations[id - 1];

	return l->mapping == k->mapping && l->address == k->address;
}

uint64_t tl_pprof_location(struct tl_pprof *p, uint64_t mapping, uint64_t address,
			   const struct tl_pprof_line *lines, size_t nlines)
{
	struct loc_key k = {p, mapping, address};
	uint64_t h = hash_bytes(&k.mapping, 2 * sizeof(uint64_t), 0x9e3779b97f4a7c15ull);
	struct slot *sl;

	if (mapping > p->nmappings)
		return 0;
	for (size_t i = 0; i < nlines; i++)
		if (!lines[i].function || lines[i].function > p->nfunctions)
			return 0;
	if (p->oom || !room(&p->location_ids) || !RESERVE(p, locations, 1) ||
	    !RESERVE(p, lines, nlines))
		return 0;
	sl = find(&p->location_ids, h, loc_eq, &k);
	if (sl->id)
		return sl->id;
	memcpy(p->lines + p->nlines, lines, nlines * sizeof(*lines));
	p->locations[p->nlocations++] = (struct location){mapping, address, p->nlines, nlines};
	p->nlines += nlines;
	*sl = (struct slot){h, p->nlocations};
	p->location_ids.count++;
	return p->nlocations;
}

int tl_pprof_sample(struct tl_pprof *p, const uint64_t *locations, size_t nlocations,
		    const int64_t *values, const struct tl_pprof_label *labels, size_t nlabels)
{
	for (size_t i = 0; i < nlocations; i++)
		if (!locations[i] || locations[i] > p->nlocations)
			return -1;
	if (p->oom || !RESERVE(p, samples, 1) || !RESERVE(p, sample_locs, nlocations) ||
	    !RESERVE(p, values, p->ntypes) || !RESERVE(p, labels, nlabels))
		return -1;
	p->samples[p->nsamples++] =
		(struct sample){p->nsample_locs, nlocations, p->nvalues, p->nlabels, nlabels};
	memcpy(p->sample_locs + p->nsample_locs, locations, nlocations * sizeof(*locations));
	p->nsample_locs += nlocations;
	memcpy(p->values + p->nvalues, values, p->ntypes * sizeof(*values));
	p->nvalues += p->ntypes;
	for (size_t i = 0; i < nlabels; i++) {
		struct label l = {string(p, labels[i].key), labels[i].str ? string(p, labels[i].str) : 0,
				  labels[i].unit ? string(p, labels[i].unit) : 0,
				  labels[i].str ? 0 : labels[i].num};

		p->labels[p->nlabels++] = l;
	}
	return p->oom ? -1 : 0;
}

/* ---------------------------------------------------------------------------
 * Encoding
 */

static void enc_value_type(struct buf *b, unsigned num, uint64_t type, uint64_t unit,
			   struct buf *m)
{
	field_varint(m, 1, type);
	field_varint(m, 2, unit);
	field_msg(b, num, m);
}

static void enc_sample(struct tl_pprof *p, const struct sample *s, struct buf *b,
		       struct buf *m, struct buf *scratch)
{
	struct buf lb = {0};

	field_packed(m, 1, p->sample_locs + s->first_loc, s->nlocs, scratch);
	/* int64 values go on the wire as their two's-complement uint64. */
	field_packed(m, 2, (const uint64_t *)(p->values + s->first_value), p->ntypes, scratch);
	for (size_t i = 0; i < s->nlabels; i++) {
		const struct label *l = &p->labels[s->first_label + i];

		field_varint(&lb, 1, l->key);
		field_varint(&lb, 2, l->str);
		field_varint(&lb, 3, (uint64_t)l->num);
		field_varint(&lb, 4, l->unit);
		field_msg(m, 3, &lb);
	}
	m->oom |= lb.oom;
	free(lb.p);
	field_msg(b, 2, m);
}

static void enc_mapping(const struct mapping *mp, uint64_t id, struct buf *b, struct buf *m)
{
	field_varint(m, 1, id);
	field_varint(m, 2, mp->start);
	field_varint(m, 3, mp->limit);
	field_varint(m, 4, mp->offset);
	field_varint(m, 5, mp->file);
	field_varint(m, 6, mp->build_id);
	for (unsigned f = 7; f <= 10; f++)
		field_varint(m, f, mp->symbolized);
	field_msg(b, 3, m);
}

static void enc_location(struct tl_pprof *p, const struct location *l, uint64_t id,
			 struct buf *b, struct buf *m, struct buf *scratch)
{
	field_varint(m, 1, id);
	field_varint(m, 2, l->mapping);
	field_varint(m, 3, l->address);
	for (size_t i = 0; i < l->nlines; i++) {
		const struct tl_pprof_line *ln = &p->lines[l->first_line + i];

		field_varint(scratch, 1, ln->function);
		field_varint(scratch, 2, (uint64_t)ln->line);
		field_msg(m, 4, scratch);
	}
	field_msg(b, 4, m);
}

static void enc_function(const struct function *f, uint64_t id, struct buf *b, struct buf *m)
{
	field_varint(m, 1, id);
	field_varint(m, 2, f->name);
	field_varint(m, 3, f->name); /* system_name: C names are not mangled */
	field_varint(m, 4, f->file);
	field_varint(m, 5, (uint64_t)f->start_line);
	field_msg(b, 5, m);
}

int tl_pprof_encode(struct tl_pprof *p, uint8_t **out, size_t *len)
{
	struct buf b = {0}, m = {0}, scratch = {0};

	if (p->oom)
		return -ENOMEM;
	for (size_t i = 0; i < p->ntypes; i++)
		enc_value_type(&b, 1, p->type_idx[i], p->unit_idx[i], &m);
	for (size_t i = 0; i < p->nsamples; i++)
		enc_sample(p, &p->samples[i], &b, &m, &scratch);
	for (size_t i = 0; i < p->nmappings; i++)
		enc_mapping(&p->mappings[i], i + 1, &b, &m);
	for (size_t i = 0; i < p->nlocations; i++)
		enc_location(p, &p->locations[i], i + 1, &b, &m, &scratch);
	for (size_t i = 0; i < p->nfunctions; i++)
		enc_function(&p->functions[i], i + 1, &b, &m);
	for (size_t i = 0; i < p->nstrings; i++)
		field_bytes(&b, 6, p->strings[i], strlen(p->strings[i]));
	field_varint(&b, 9, (uint64_t)p->time_nanos);
	field_varint(&b, 10, (uint64_t)p->duration_nanos);
	if (p->period_type || p->period_unit)
		enc_value_type(&b, 11, p->period_type, p->period_unit, &m);
	field_varint(&b, 12, (uint64_t)p->period);
	field_packed(&b, 13, p->comments, p->ncomments, &scratch);
	field_varint(&b, 14, p->default_type);
	free(m.p);
	free(scratch.p);
	if (b.oom || m.oom || scratch.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* gzip with a fixed header (no time, no name), so output is repeatable. */
static int gzip(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen)
{
	z_stream z = {0};
	uLong cap;
	int r;

	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)n) + 32;
	*out = malloc(cap);
	if (!*out) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	r = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(*out);
		return -EIO;
	}
	return 0;
}

int tl_pprof_write_fd(struct tl_pprof *p, int fd)
{
	uint8_t *raw = NULL, *gz = NULL;
	size_t rawlen, gzlen;
	int err;

	err = tl_pprof_encode(p, &raw, &rawlen);
	if (!err)
		err = gzip(raw, rawlen, &gz, &gzlen);
	free(raw);
	if (!err)
		err = write_all(fd, gz, gzlen);
	free(gz);
	return err;
}

int tl_pprof_write(struct tl_pprof *p, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err;

	if (fd < 0)
		return -errno;
	err = tl_pprof_write_fd(p, fd);
	if (close(fd) != 0 && !err)
		err = -errno;
	return err;
}

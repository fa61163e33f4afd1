/*
 * names.c - texts for error codes, record types, timer kinds, drop reasons
 * and runtime modes. The record and kind names are the ones the format spec
 * and the report use, so they are part of the tool's stable output.
 */
#include "tl_trace.h"

#include <stddef.h>

const char *tl_trace_strerror(int err)
{
	switch (err) {
	case TL_TRACE_OK:
		return "success";
	case TL_TRACE_E_IO:
		return "input/output error";
	case TL_TRACE_E_NOMEM:
		return "out of memory";
	case TL_TRACE_E_NOT_TRACE:
		return "not a timerleak trace (no trace magic)";
	case TL_TRACE_E_NEWER_VERSION:
		return "trace format version is newer than this reader";
	case TL_TRACE_E_SHORT_HEADER:
		return "file shorter than the trace header";
	case TL_TRACE_E_BAD_RECORD:
		return "a record does not parse";
	case TL_TRACE_E_INVAL:
		return "invalid argument";
	case TL_TRACE_E_TOO_BIG:
		return "a chunk, string or stack exceeds the format's limits";
	case TL_TRACE_E_COMPRESS:
		return "zstd could not compress a chunk";
	case TL_TRACE_E_DISK_FULL:
		return "no space left on the device (or quota exceeded)";
	case TL_TRACE_E_BAD_HEADER:
		return "the trace file header is damaged";
	case TL_TRACE_E_BAD_CHUNK:
		return "a chunk header is damaged";
	case TL_TRACE_E_BAD_PAYLOAD:
		return "a chunk's compressed data is damaged";
	}
	return "unknown trace error";
}

/* Indexed by type; NULL where no record is defined. */
static const char *const rec_names[] = {
	[TL_REC_PROCESS] = "process",
	[TL_REC_THREAD] = "thread",
	[TL_REC_MODULE] = "module",
	[TL_REC_MODULE_UNLOAD] = "module-unload",
	[TL_REC_STACK] = "stack",
	[TL_REC_THREAD_SWITCH] = "thread-switch",
	[TL_REC_RUNTIME] = "runtime",
	[TL_REC_CREATE] = "create",
	[TL_REC_ARM] = "arm",
	[TL_REC_STOP] = "stop",
	[TL_REC_RESET] = "reset",
	[TL_REC_FIRE] = "fire",
	[TL_REC_DRAIN] = "drain",
	[TL_REC_RELEASE] = "release",
	[TL_REC_FREE] = "free",
	[TL_REC_DROPPED] = "dropped",
	[TL_REC_SNAPSHOT] = "snapshot",
	[TL_REC_END] = "end",
	[TL_REC_SIGNAL] = "signal",
	[TL_REC_RECORDER] = "recorder",
	[TL_REC_ATTACHED] = "attached",
	[TL_REC_EXISTING] = "existing",
};

const char *tl_rec_name(int type)
{
	if (type < 0 || (size_t)type >= sizeof(rec_names) / sizeof(rec_names[0]) ||
	    !rec_names[type])
		return "unknown";
	return rec_names[type];
}

/* The kinds (docs/trace-format.md, "Kinds"). */
static const struct tl_kind_info kinds[] = {
	/* name, source, periodic, channel, callback, caller_frees, descriptor */
	[0] = {"unknown", TL_SOURCE_UNKNOWN, false, false, false, false, false},
	[TL_KIND_TIMER] = {"timer", TL_SOURCE_GOTIMER, false, true, false, true, false},
	[TL_KIND_AFTER] = {"after", TL_SOURCE_GOTIMER, false, true, false, false, false},
	[TL_KIND_AFTERFUNC] = {"afterfunc", TL_SOURCE_GOTIMER, false, false, true, true, false},
	[TL_KIND_TICKER] = {"ticker", TL_SOURCE_GOTIMER, true, true, false, true, false},
	[TL_KIND_TIMERFD] = {"timerfd", TL_SOURCE_KERNEL, false, false, false, false, true},
	[TL_KIND_POSIX] = {"posix", TL_SOURCE_KERNEL, false, false, false, false, false},
	/* Go's timers are garbage-collected: nothing for the caller to free. */
	[TL_KIND_GO_TIMER] = {"go-timer", TL_SOURCE_GO, false, true, false, false, false},
	[TL_KIND_GO_AFTER] = {"go-after", TL_SOURCE_GO, false, true, false, false, false},
	[TL_KIND_GO_AFTERFUNC] = {"go-afterfunc", TL_SOURCE_GO, false, false, true, false, false},
	[TL_KIND_GO_TICKER] = {"go-ticker", TL_SOURCE_GO, true, true, false, false, false},
	[TL_KIND_GO_SLEEP] = {"go-sleep", TL_SOURCE_GO, false, false, false, false, false},
};

_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == TL_KIND_MAX + 1, "a row per kind");

const struct tl_kind_info *tl_kind_info(int kind)
{
	return kind >= 1 && kind <= TL_KIND_MAX ? &kinds[kind] : &kinds[0];
}

const char *tl_kind_name(int kind)
{
	return tl_kind_info(kind)->name;
}

const char *tl_drop_reason_name(int reason)
{
	switch (reason) {
	case TL_DROP_RING_FULL:
		return "ring-full";
	case TL_DROP_WRITE_FAILED:
		return "write-failed";
	case TL_DROP_TOO_MANY_THREADS:
		return "too-many-threads";
	case TL_DROP_NOMEM:
		return "out-of-memory";
	case TL_DROP_UNTRACKED:
		return "untracked";
	}
	return "unknown";
}

const char *tl_mode_name(int mode)
{
	switch (mode) {
	case TL_MODE_ASYNC:
		return "async";
	case TL_MODE_SYNC:
		return "sync";
	}
	return "unknown";
}

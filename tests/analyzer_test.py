#!/usr/bin/env python3
"""analyzer_test.py - timerleak-report, the offline analyzer, end to end.

Usage: analyzer_test.py CASE   (tests/analyzer.cmake registers each as analyzer.CASE)

The cases:
  td.PROGRAM[.MODE]  a testdata program recorded under libtimerleak.so and
                     reported: exactly the findings docs/detectors.md wants,
                     each at the creating call's file:line (read from the
                     source, not copied from the tool), with its severity,
                     and counts that agree with what the program says it did
  seed.MODE          the seed experiment, 100,000 messages
  symbols.*          the traced binary moved, under a sysroot, or rebuilt
  drops.full_disk    a trace whose disk filled up while recording
  truncated.*        traces cut at many offsets
  newer.*            a trace of a newer format version
  fail_on, usage, min_count.*  the command line
  gen.*              synthetic traces (tests/analyzer_gen.c) at the
                     detectors' thresholds: drops, timers never freed,
                     dropped ticks, churn, resets by mode, callbacks;
                     timers of unknown origin, armed for ever, of id 0, at
                     a stack of a large id; a process start past 2^63
  json.non_utf8      a binary whose path is not UTF-8, in the JSON report
  fuzz_seeds         the analysis fuzzer's seed corpus (tests/analyzer_fuzz.c)

After the case, every trace it left in its directory is read again by the
sanitized analyzer (TL_REPORT_SAN, tests/analyzer.cmake) in each output
mode, which must print what the plain one printed and report nothing.

A case checks everything it can and lists every broken expectation, then
exits 1 if there was one, 77 if it was skipped; 0 means it passed.

Environment (set by tests/analyzer.cmake):
  TL_SOURCE    the source tree         TL_REPORT    timerleak-report
  TL_GEN       analyzer_gen            TL_PRELOAD   libtimerleak.so
  TL_TESTDATA  the testdata programs   TL_CC        the C compiler
  TL_REPORT_SAN  the sanitized timerleak-report (optional)
  TL_RECORD    0 when the build cannot record (a sanitized build)
  TL_FUZZ_SEEDS  where fuzz_seeds writes the seeds
  TL_WORK      this case's directory (emptied first); commands.log there
               holds every command the case ran, with its output
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time

from tlcheck import (Fatal, Skip, check, clean_env, expect, expect_range, fail, failures,
                     find_call, log, require)

E = os.environ
SOURCE = E.get("TL_SOURCE", "")
REPORT = E.get("TL_REPORT", "")
REPORT_SAN = E.get("TL_REPORT_SAN", "")
GEN = E.get("TL_GEN", "")
PRELOAD = E.get("TL_PRELOAD", "")
TESTDATA = E.get("TL_TESTDATA", "")
CC = E.get("TL_CC", "cc")
WORK = E.get("TL_WORK", "")

# Synthetic traces (analyzer_gen.c): frame 0 of stack n.
GEN_BIAS = 0x555555554000


def site_pc(n):
    return GEN_BIAS + 0x1000 + 0x100 * n


# ---------------------------------------------------------------------------
# Running things

def run(cmd, env=None, timeout=120, cwd=None, stdout=subprocess.PIPE):
    """Run cmd; @return the CompletedProcess, stdout and stderr as bytes."""
    log("$ " + " ".join(str(c) for c in cmd))
    try:
        p = subprocess.run([str(c) for c in cmd], env=env if env is not None else clean_env(),
                           stdout=stdout, stderr=subprocess.PIPE, timeout=timeout,
                           cwd=cwd or WORK)
    except subprocess.TimeoutExpired:
        raise Fatal("timed out after %d s: %s" % (timeout, " ".join(map(str, cmd))))
    except OSError as e:
        raise Fatal("cannot run %s: %s" % (cmd[0], e))
    if p.stdout is None:
        p.stdout = b""
    with open(os.path.join(WORK, "commands.log"), "a", errors="backslashreplace") as f:
        f.write("$ %s\n[exit %d]\n" % (" ".join(map(str, cmd)), p.returncode))
        out = p.stdout.decode("utf-8", "replace")
        f.write(out[:20000] + ("...\n" if len(out) > 20000 else ""))
        if p.stderr:
            f.write("[stderr]\n" + p.stderr.decode("utf-8", "replace"))
        f.write("\n")
    return p


def text(b):
    return b.decode("utf-8", "replace")


def must(cmd, **kw):
    p = run(cmd, **kw)
    if p.returncode != 0:
        raise Fatal("exit status %d: %s\n%s" % (p.returncode, " ".join(map(str, cmd)),
                                               text(p.stderr)))
    return p


def wpath(*parts):
    return os.path.join(WORK, *parts)


def need_recorder():
    if E.get("TL_RECORD", "1") == "0":
        raise Skip("this build cannot record (a sanitized libtimerleak.so)")


def record(name, cmd, mode=None, **env):
    """Run cmd under the recorder into WORK/name.tlk (mode: GOTIMER_CHAN).
    @return the trace's path and the program's key=value output."""
    need_recorder()
    trace = wpath(name + ".tlk")
    if os.path.exists(trace):
        os.unlink(trace)
    extra = dict(env)
    if mode:
        extra["GOTIMER_CHAN"] = mode
    # LD_PRELOAD inside timeout's env, so that only the program is traced.
    p = must(["timeout", "-k", "5", "60", "env", "LD_PRELOAD=" + PRELOAD,
              "TIMERLEAK_OUTPUT=" + trace] + list(cmd), env=clean_env(**extra))
    require(os.path.isfile(trace), "no trace written to " + trace)
    return trace, vals(text(p.stdout))


def td(name):
    return os.path.join(TESTDATA, name)


def vals(out):
    """key=value pairs of a program's output line(s), numbers as ints."""
    return {k: int(v) if re.fullmatch(r"-?\d+", v) else v
            for k, v in re.findall(r"(\w+)=(\S+)", out)}


def gen(scenario, name=None, arg=None):
    """A synthetic trace (analyzer_gen) in WORK/name.tlk."""
    trace = wpath((name or scenario) + ".tlk")
    must([GEN, scenario, trace] + ([arg] if arg is not None else []))
    return trace


def report(trace, *opts, code=0, cwd=None):
    """timerleak-report OPTS TRACE, expecting exit code. @return the process."""
    p = run([REPORT] + list(opts) + [trace], cwd=cwd)
    check(p.returncode == code, "timerleak-report %s %s: exit %d, expected %d: %s" % (
        " ".join(opts), os.path.basename(trace), p.returncode, code,
        text(p.stderr).strip()[-400:]))
    return p


def report_json(trace, *opts, code=0, cwd=None):
    p = report(trace, "--json", *opts, code=code, cwd=cwd)
    try:
        return json.loads(p.stdout), p
    except ValueError as e:
        raise Fatal("--json output of %s is not JSON: %s" % (os.path.basename(trace), e))


def creating_line(src, func, call):
    """The line of the first `call` in the definition of func in src."""
    return find_call(src if os.path.isabs(src) else os.path.join(SOURCE, src), func, call)[0]


def same_file(a, b):
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# Findings

def describe(f):
    fr = f["site"][0] if f["site"] else {}
    return "%s/%s count=%s at %s %s:%s" % (f["pattern"], f["severity"], f["count"],
                                           fr.get("function"), fr.get("file"), fr.get("line"))


def frame0(frames):
    return frames[0] if frames else {}


def check_frame(what, frames, src, func, call):
    """frames[0] is func at the line of call in src (testdata/...)."""
    fr = frame0(frames)
    line = creating_line(src, func, call)
    expect(what + ": function", func, fr.get("function"))
    check(same_file(fr.get("file") or "", os.path.join(SOURCE, src)),
          "%s: file: expected %s, got %r" % (what, src, fr.get("file")))
    expect(what + ": line (of %s in %s)" % (call.rstrip("("), func), line, fr.get("line"))


class Want:
    """A finding a case expects: pattern, severity, and the creating call
    (src, func, call) or a synthetic stack number; count None: any."""

    def __init__(self, pattern, severity, count=None, func=None, call=None, src=None,
                 stack=None, at=None, uncertain=False, **stats):
        self.pattern, self.severity, self.count = pattern, severity, count
        self.func, self.call, self.src, self.stack = func, call, src, stack
        self.at = at  # (func, call) of the reset, or a stack number
        self.uncertain = uncertain
        self.stats = stats

    def matches(self, f):
        if f["pattern"] != self.pattern:
            return False
        fr = frame0(f["site"])
        if self.stack is not None:
            if fr.get("address") != hex(site_pc(self.stack)):
                return False
            if isinstance(self.at, int):
                return frame0(f["call_site"]).get("address") == hex(site_pc(self.at))
            return True
        return fr.get("function") == self.func

    def __str__(self):
        where = "stack %d" % self.stack if self.stack is not None else self.func
        return "%s/%s at %s" % (self.pattern, self.severity, where)


def expect_findings(rep, wants, notes_ok=False, label=""):
    """The findings are exactly wants (and, with notes_ok, any notes)."""
    found = list(rep["findings"])
    for w in wants:
        hits = [f for f in found if w.matches(f)]
        if not check(len(hits) == 1, "%sfinding %s: found %d: %s" % (
                label, w, len(hits), "; ".join(describe(f) for f in rep["findings"]) or "none")):
            continue
        f = hits[0]
        found.remove(f)
        expect("%s%s: severity" % (label, w), w.severity, f["severity"])
        if w.count is not None:
            expect("%s%s: count" % (label, w), w.count, f["count"])
        expect("%s%s: uncertain" % (label, w), w.uncertain, f["uncertain"])
        if w.src:
            check_frame("%s%s: site" % (label, w), f["site"], w.src, w.func, w.call)
        if w.at and not isinstance(w.at, int):
            check_frame("%s%s: call site" % (label, w), f["call_site"], w.src, *w.at)
        elif w.at is None:
            expect("%s%s: call_site" % (label, w), None, f["call_site"])
        for k, v in w.stats.items():
            got = f["stats"].get(k)
            if isinstance(v, tuple):
                expect_range("%s%s: stats.%s" % (label, w, k), v[0], v[1], got)
            else:
                expect("%s%s: stats.%s" % (label, w, k), v, got)
    for f in found:
        check(notes_ok and f["severity"] == "note",
              "%sunexpected finding: %s" % (label, describe(f)))
    sev = {"leak": 0, "warning": 0, "note": 0}
    for f in rep["findings"]:
        sev[f["severity"]] += 1
    expect(label + "summary", sev, rep["summary"])
    order = [{"leak": 2, "warning": 1, "note": 0}[f["severity"]] for f in rep["findings"]]
    expect(label + "findings most severe first", sorted(order, reverse=True), order)


HEADER = re.compile(r"^\[(\d+)\] (LEAK|WARNING|note)  (.*?): ([\d,]+) (.*?)( \(uncertain\))?$")


def text_findings(out):
    """The text report's findings: (severity, title, count, uncertain,
    first frame line after 'created at'/'at')."""
    res = []
    lines = out.split("\n")
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if not m:
            continue
        frames = {}
        label = None
        for l2 in lines[i + 1:]:
            if HEADER.match(l2) or not l2.startswith("    "):
                break
            if l2.startswith("    ") and not l2.startswith("      "):
                label = l2.strip()
                label = label if label in ("at", "created at", "timer created at") else None
            elif label and label not in frames:
                frames[label] = l2.strip()
        res.append({"severity": m.group(2).lower(), "title": m.group(3),
                    "count": int(m.group(4).replace(",", "")), "what": m.group(5),
                    "uncertain": bool(m.group(6)), "frames": frames})
    return res


def check_text(trace, rep, *opts):
    """The text report says what the JSON one does: the same findings, in
    the same order, at the same frames."""
    out = text(report(trace, *opts).stdout)
    tf = text_findings(out)
    expect("text report: findings", len(rep["findings"]), len(tf))
    for f, t in zip(rep["findings"], tf):
        what = "text report: finding %s" % describe(f)
        expect(what + ": severity", f["severity"], t["severity"])
        expect(what + ": title", f["title"], t["title"])
        expect(what + ": count", f["count"], t["count"])
        expect(what + ": uncertain", f["uncertain"], t["uncertain"])
        fr = frame0(f["site"])
        line = t["frames"].get("timer created at" if f["call_site"] else "created at", "")
        if fr.get("file"):
            where = "%s:%d" % (os.path.basename(fr["file"]), fr["line"])
            check(line.startswith((fr.get("function") or "??") + " ") and
                  line.endswith(where), "%s: first frame %r, expected %s at %s" % (
                      what, line, fr.get("function"), where))
    m = re.search(r"findings  (\d+) leaks?, (\d+) warnings?, (\d+) notes?", out)
    expect("text report: findings line",
           [rep["summary"][k] for k in ("leak", "warning", "note")],
           [int(x) for x in m.groups()] if m else None)
    return out


def common_trace(rep, trace, mode=None):
    """What every recorded testdata trace must say about itself."""
    t = rep["trace"]
    expect("trace complete", True, t["complete"])
    expect("bad chunks", 0, t["bad_chunks"])
    expect("orphan events", 0, t["orphan_events"])
    expect("timers created before the trace", 0, t["timers_before_trace"])
    if mode:
        expect("process.mode", mode, rep["process"]["mode"])
        expect("process.runtime", "libgotimer", rep["process"]["runtime"])
    for f in rep["findings"]:
        # Lost events make a small finding uncertain (docs/detectors.md).
        expect("%s: uncertain (count %d, %d dropped)" % (describe(f), f["count"], t["dropped"]),
               t["dropped"] > 0 and f["count"] <= t["dropped"], f["uncertain"])


# ---------------------------------------------------------------------------
# td.*: the testdata programs

def created(rep, kind):
    return rep["trace"]["created_by_kind"].get(kind, 0)


def td_leak_ticker(mode):
    trace, v = record("leak_ticker", [td("leak_ticker"), "-n", "40", "-l", "50"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    expect("program: tickers_created", 40, v.get("tickers_created"))
    expect("tickers created (trace)", v.get("tickers_created"), created(rep, "ticker"))
    expect_findings(rep, [Want("never-stopped-ticker", "leak", v.get("pending_timers"),
                               "handle_request", "gt_ticker_new(", "testdata/leak_ticker.c",
                               created=40, stopped=0, periodic_end=40)])
    check_text(trace, rep)


def td_ok_ticker(mode):
    trace, v = record("ok_ticker", [td("ok_ticker"), "-n", "40", "-l", "50"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    expect("tickers created (trace)", v.get("tickers_created"), created(rep, "ticker"))
    # The process-wide ticker: a note, nothing else (docs/detectors.md).
    expect_findings(rep, [Want("never-stopped-ticker", "note", 1, "stats_ticker_open",
                               "gt_ticker_new(", "testdata/ok_ticker.c")])
    check_text(trace, rep)


def td_leak_after_loop(mode):
    trace, v = record("leak_after_loop", [td("leak_after_loop"), "-n", "3000"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    n = v.get("afters_created")
    expect("program: afters_created", 3001, n)
    if mode == "async":
        # Every abandoned timer stays until it fires, an hour later.
        want = Want("after-in-loop", "leak", v.get("pending_timers"), "wait_message", "gt_after(",
                    "testdata/leak_after_loop.c", created=n, peak_pending=n, abandoned=n,
                    peak_pending_bytes=v.get("pending_bytes"))
    else:
        want = Want("after-in-loop", "warning", n, "wait_message", "gt_after(",
                    "testdata/leak_after_loop.c", created=n, abandoned=n, peak_pending=(1, 2))
    expect_findings(rep, [want])
    check_text(trace, rep)


def td_ok_timer_reset(mode):
    trace, v = record("ok_timer_reset", [td("ok_timer_reset"), "-n", "3000"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    expect("timers created (trace)", 1, created(rep, "timer"))
    expect_findings(rep, [])
    check_text(trace, rep)


def td_leak_reset_nodrain(mode):
    trace, v = record("leak_reset_nodrain", [td("leak_reset_nodrain"), "-n", "12"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    pending = v.get("resets_with_value_pending")
    check(isinstance(pending, int) and pending >= 1,
          "program: resets_with_value_pending %r" % pending)
    # A warning in async mode, where the stale value is delivered; a note
    # in sync mode, where the runtime discards it.
    expect_findings(rep, [Want("reset-without-drain", "warning" if mode == "async" else "note",
                               pending, "watchdog_open", "gt_timer_new(",
                               "testdata/leak_reset_nodrain.c",
                               at=("rearm_watchdog", "gt_timer_reset("),
                               resets=v.get("resets"), resets_pending=pending)])
    check_text(trace, rep)


def td_ok_reset_drain(mode):
    trace, v = record("ok_reset_drain", [td("ok_reset_drain"), "-n", "12"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    expect("program: resets_with_value_pending", 0, v.get("resets_with_value_pending"))
    expect_findings(rep, [])
    check_text(trace, rep)


def td_leak_afterfunc(mode):
    trace, v = record("leak_afterfunc", [td("leak_afterfunc"), "-n", "300"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    n = v.get("inspectors")
    expect("program: inspectors", 300, n)
    expect("program: inspectors_run (5 s callbacks)", 0, v.get("inspectors_run"))
    # 300 pending at once, each pinning a 4 KB request: past 1 MiB.
    expect_findings(rep, [Want("callback-retention", "leak", v.get("pending_timers"),
                               "inspect_request", "gt_after_func(", "testdata/leak_afterfunc.c",
                               created=n, peak_pending=n, pending_end=n,
                               peak_pending_bytes=(n * 4096, n * 8192))])
    check_text(trace, rep)


def td_ok_afterfunc(mode):
    trace, v = record("ok_afterfunc", [td("ok_afterfunc"), "-n", "300"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    expect("callback timers created (trace)", 300, created(rep, "afterfunc"))
    expect_findings(rep, [])
    check_text(trace, rep)


def td_demo_service(mode):
    trace, v = record("demo_service", [td("demo_service"), "-t", "1"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    src = "testdata/demo_service.c"
    wants = [Want("never-stopped-ticker", "leak", v.get("streams"), "stream_progress",
                  "gt_ticker_new(", src),
             Want("after-in-loop", "leak" if mode == "async" else "warning", None, "next_event",
                  "gt_after(", src),
             Want("reset-without-drain", "warning" if mode == "async" else "note", None,
                  "session_loop", "gt_timer_new(", src, at=("keepalive_reset", "gt_timer_reset(")),
             Want("never-stopped-ticker", "note", 1, "housekeeping_ticker", "gt_ticker_new(", src)]
    expect_findings(rep, wants)
    check_text(trace, rep)


def record_daemon(name, seconds):
    """Run testdata/NAME under the recorder until it serves, let it serve
    for SECONDS, then stop it as a service manager does: SIGTERM, its
    default action. @return the trace and the program's exit status."""
    need_recorder()
    trace = wpath(name + ".tlk")
    log("$ %s (SIGTERM after %.1f s)" % (td(name), seconds))
    env = clean_env(LD_PRELOAD=PRELOAD, TIMERLEAK_OUTPUT=trace)
    with open(wpath(name + ".out"), "w") as out:
        p = subprocess.Popen([td(name)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=WORK)
        deadline = time.time() + 30
        while "ready" not in open(wpath(name + ".out")).read():
            if p.poll() is not None or time.time() > deadline:
                p.kill()
                raise Fatal("%s never became ready" % name)
            time.sleep(0.05)
        time.sleep(seconds)
        p.send_signal(15)
        try:
            status = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Fatal("%s did not end on SIGTERM" % name)
    require(os.path.isfile(trace), "no trace written to " + trace)
    return trace, status


def daemon_common(name, trace, status):
    expect("%s: exit (killed by SIGTERM, as without the recorder)" % name, -15, status)
    rep, _ = report_json(trace)
    t = rep["trace"]
    expect("%s: trace complete (written out on SIGTERM)" % name, True, t["complete"])
    expect("%s: ended by" % name, "SIGTERM", t["ended_by_signal"])
    out = check_text(trace, rep)
    check("  ended     by SIGTERM" in out, "%s: the text report does not say it ended by SIGTERM"
          % name)
    check("warning" not in text(report(trace).stderr), "%s: a warning about a trace ended "
          "by SIGTERM" % name)
    return rep


# The daemon pair: the same lifetime timers at the SIGTERM (a heartbeat
# ticker per worker, an idle timerfd per pooled connection), told apart by
# what grew while they ran.
LIFETIME = [Want("never-stopped-ticker", "note", 4, "worker_heartbeat", "gt_ticker_new("),
            Want("unclosed-timerfd", "note", 4, "pool_conn_open", "timerfd_create(")]


def td_ok_daemon():
    trace, status = record_daemon("ok_daemon", 1.5)
    rep = daemon_common("ok_daemon", trace, status)
    src = "testdata/daemon.c"
    expect_findings(rep, [Want(w.pattern, w.severity, w.count, w.func, w.call, src)
                          for w in LIFETIME])
    report(trace, "--fail-on=leak", code=0)
    report(trace, "--fail-on=warning", code=0)


def td_leak_daemon():
    trace, status = record_daemon("leak_daemon", 1.5)
    rep = daemon_common("leak_daemon", trace, status)
    src = "testdata/daemon.c"
    created_n = created(rep, "ticker") - 4
    expect_findings(rep, [Want("never-stopped-ticker", "leak", None, "request_progress",
                               "gt_ticker_new(", src, stopped=0)] +
                    [Want(w.pattern, w.severity, w.count, w.func, w.call, src) for w in LIFETIME])
    f = [f for f in rep["findings"] if f["severity"] == "leak"][0]
    expect("leak_daemon: every per-request ticker still running", created_n, f["count"])
    check(f["stats"]["grew"] >= created_n // 2, "leak_daemon: grew by %d of %d" %
          (f["stats"]["grew"], created_n))
    check(re.match(r"over the [0-9.]+ s recorded: grew by [0-9,]+ after start-up \(its first "
                   r"[0-9.]+ ms\), [0-9.]+/s, still growing at the end$", f["window"] or ""),
          "leak_daemon: the window line: %r" % f["window"])
    report(trace, "--fail-on=leak", code=1)


def td_libc(prog, args, wants, check_counts):
    trace, v = record(prog, [td(prog.replace("_none", ""))] + args)
    rep, _ = report_json(trace)
    common_trace(rep, trace)
    expect("process.runtime (no Go-style runtime)", None, rep["process"]["runtime"])
    check_counts(rep, v)
    expect_findings(rep, wants(v))
    check_text(trace, rep)


def td_leak_timerfd():
    src = "testdata/leak_timerfd.c"

    def counts(rep, v):
        expect("timerfds created (trace)", v.get("timerfds_created"), created(rep, "timerfd"))
    # The kernel's own count of open timerfds is the finding's count.
    td_libc("leak_timerfd", ["-n", "40", "-r", "3"], lambda v: [
        Want("unclosed-timerfd", "leak", v.get("open_timerfds"), "keepalive_open",
             "timerfd_create(", src, created=40, live_end=40, pending_end=40, periodic_end=40)],
        counts)


def td_ok_timerfd():
    src = "testdata/ok_timerfd.c"

    def counts(rep, v):
        expect("timerfds created (trace)", v.get("timerfds_created"), created(rep, "timerfd"))
        expect("program: open_timerfds", 1, v.get("open_timerfds"))
    td_libc("ok_timerfd", ["-n", "40", "-r", "3"], lambda v: [
        Want("unclosed-timerfd", "note", 1, "housekeeping_open", "timerfd_create(", src)], counts)


def td_leak_posix_timer(args=()):
    src = "testdata/leak_posix_timer.c"

    def counts(rep, v):
        expect("POSIX timers created (trace)", v.get("timers_created"), created(rep, "posix"))
    # Disarmed, but never deleted: allocated, not armed.
    td_libc("leak_posix_timer_none" if args else "leak_posix_timer", ["-n", "40"] + list(args),
            lambda v: [Want("undeleted-posix-timer", "leak", v.get("live_posix_timers"),
                            "watchdog_create", "timer_create(", src, created=40, live_end=40,
                            pending_end=0)], counts)


def td_ok_posix_timer():
    src = "testdata/ok_posix_timer.c"

    def counts(rep, v):
        expect("program: live_posix_timers", 1, v.get("live_posix_timers"))
    td_libc("ok_posix_timer", ["-n", "40"], lambda v: [
        Want("undeleted-posix-timer", "note", 1, "uptime_timer_create", "timer_create(", src,
             pending_end=1, periodic_end=1)], counts)


# ---------------------------------------------------------------------------
# seed.*: the seed experiment, 100,000 messages

def case_seed(mode):
    trace, v = record("seed", [td("leak_after_loop"), "-n", "100000"], mode)
    rep, _ = report_json(trace)
    common_trace(rep, trace, mode)
    expect("program: messages", 100000, v.get("messages"))
    n = v.get("afters_created")
    expect("program: afters_created", 100001, n)
    # A loaded machine may lose a few events to a full ring (counted).
    lost = max(3, rep["trace"]["dropped"])
    expect_range("after-timers created (trace)", 100001 - lost, 100001, created(rep, "after"))
    src = "testdata/leak_after_loop.c"
    if mode == "async":
        # About 100,001 retained at the peak, 152 B each: about 14 MB.
        want = Want("after-in-loop", "leak", None, "wait_message", "gt_after(", src,
                    peak_pending=(100001 - lost, 100001), created=(100001 - lost, 100001))
    else:
        want = Want("after-in-loop", "warning", None, "wait_message", "gt_after(", src,
                    peak_pending=(1, 2), created=(100001 - lost, 100001), pending_end=0,
                    abandoned=(100001 - 2 * lost, 100001))
    expect_findings(rep, [want])
    f = [f for f in rep["findings"] if f["pattern"] == "after-in-loop"]
    if f:
        s = f[0]["stats"]
        expect("count is the peak retained" if mode == "async" else "count is the abandoned",
               s["peak_pending"] if mode == "async" else s["abandoned"], f[0]["count"])
        expect("peak pending bytes: 152 B per timer", 152 * s["peak_pending"],
               s["peak_pending_bytes"])
        if mode == "async":
            check("holding 14 MB" in f[0]["detail"], "detail: %r" % f[0]["detail"])
            expect("pending at the end (the program's pending_timers)", v.get("pending_timers"),
                   s["pending_end"])
    check_text(trace, rep)


# ---------------------------------------------------------------------------
# symbols.*: the traced binary moved, or rebuilt

def copy_program(prog, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copy2(td(prog), dest)
    return dest


def module_offset_frames(out, module):
    """Frames printed as module+0xOFFSET for module."""
    return [int(m.group(1), 16) for m in
            re.finditer(r"^\s+\?\?\s+%s\+0x([0-9a-f]+)$" % re.escape(module), out, re.M)]


def addr2line(binary, offset):
    """The function and file:line of the call before return address offset."""
    p = must(["addr2line", "-f", "-e", binary, hex(offset - 1)])
    lines = text(p.stdout).split("\n")
    return lines[0], lines[1] if len(lines) > 1 else ""


def expect_not_symbolized(what, rep, out, module, binary, src_line):
    """The finding is there, its frames as module+offset, and those offsets
    are right (addr2line on the binary, wherever it is now)."""
    f = [f for f in rep["findings"] if f["pattern"] == "unclosed-timerfd"]
    if not check(len(f) == 1 and f[0]["severity"] == "leak",
                 "%s: the leak is reported: %s" % (what, [describe(x) for x in rep["findings"]])):
        return
    fr = frame0(f[0]["site"])
    expect(what + ": frame 0 function", None, fr.get("function"))
    expect(what + ": frame 0 file", None, fr.get("file"))
    expect(what + ": frame 0 line", 0, fr.get("line"))
    expect(what + ": frame 0 module", module, fr.get("module"))
    offs = module_offset_frames(out, os.path.relpath(module, WORK))
    if check(offs, "%s: text report: no frame printed as %s+0x..." % (
            what, os.path.relpath(module, WORK))):
        func, where = addr2line(binary, offs[0])
        expect(what + ": addr2line of the first module+offset: function", "keepalive_open", func)
        check(where.endswith("leak_timerfd.c:%d" % src_line) or
              re.search(r"leak_timerfd\.c:%d\b" % src_line, where),
              "%s: addr2line of the first module+offset: %r, expected leak_timerfd.c:%d" % (
                  what, where, src_line))


def expect_symbolized(what, rep, src):
    f = [f for f in rep["findings"] if f["pattern"] == "unclosed-timerfd"]
    if check(len(f) == 1, "%s: the leak is reported" % what):
        check_frame(what + ": site", f[0]["site"], src, "keepalive_open", "timerfd_create(")


def notes(p):
    return [l for l in text(p.stderr).split("\n") if l.startswith("timerleak-report: note: ")]


def case_symbols_moved():
    binary = copy_program("leak_timerfd", wpath("bin", "leak_timerfd"))
    trace, _ = record("moved", [binary, "-n", "8", "-r", "1"])
    moved = wpath("moved", "leak_timerfd")
    os.makedirs(os.path.dirname(moved))
    os.rename(binary, moved)
    line = creating_line("testdata/leak_timerfd.c", "keepalive_open", "timerfd_create(")

    rep, p = report_json(trace)
    expect("without --debug-dir: the note naming the missing binary",
           ["timerleak-report: note: %s: not found (use --sysroot or --debug-dir)" % binary],
           notes(p))
    out = text(report(trace).stdout)
    expect_not_symbolized("without --debug-dir", rep, out, binary, moved, line)

    for opts in (["--debug-dir", wpath("moved")], ["--debug-dir=" + wpath("empty"),
                                                  "--debug-dir=" + wpath("moved")]):
        os.makedirs(wpath("empty"), exist_ok=True)
        rep, p = report_json(trace, *opts)
        expect(" ".join(opts) + ": notes", [], notes(p))
        expect_symbolized(" ".join(opts), rep, "testdata/leak_timerfd.c")
        check_text(trace, rep, *opts)


def case_symbols_sysroot():
    binary = copy_program("leak_timerfd", wpath("bin", "leak_timerfd"))
    trace, _ = record("sysroot", [binary, "-n", "8", "-r", "1"])
    root = wpath("sysroot")
    dest = root + binary
    os.makedirs(os.path.dirname(dest))
    os.rename(binary, dest)
    # Everything is looked for under the sysroot: libc too, which is not
    # there (a note of its own).
    mine = lambda p: [n for n in notes(p) if binary in n]
    rep, p = report_json(trace, "--sysroot", root)
    expect("--sysroot: notes about the binary", [], mine(p))
    expect_symbolized("--sysroot", rep, "testdata/leak_timerfd.c")
    # The same binary elsewhere under the sysroot is not it.
    os.rename(dest, dest + ".old")
    rep, p = report_json(trace, "--sysroot=" + root)
    expect("--sysroot, binary gone: notes about the binary",
           ["timerleak-report: note: %s: not found (use --sysroot or --debug-dir)" % binary],
           mine(p))


def build_id(binary):
    p = must(["readelf", "-n", binary])
    m = re.search(r"Build ID: ([0-9a-f]+)", text(p.stdout))
    return m.group(1) if m else None


def case_symbols_rebuilt():
    need_recorder()
    src = wpath("src", "leak_timerfd.c")
    os.makedirs(os.path.dirname(src))
    shutil.copy2(os.path.join(SOURCE, "testdata", "leak_timerfd.c"), src)
    binary = wpath("bin", "leak_timerfd")
    os.makedirs(os.path.dirname(binary))
    cc = [CC, "-g", "-O1", "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls",
          "-I" + os.path.join(SOURCE, "testdata"), "-D_GNU_SOURCE", "-pthread", src, "-o", binary]
    must(cc)
    trace, _ = record("rebuilt", [binary, "-n", "8", "-r", "1"])
    orig = wpath("orig", "leak_timerfd")
    os.makedirs(os.path.dirname(orig))
    shutil.copy2(binary, orig)
    line = creating_line(src, "keepalive_open", "timerfd_create(")
    # The same program with a change, at the same path: another build-id.
    with open(src, "a") as f:
        f.write("\nint analyzer_test_rebuilt(void);\n"
                "int analyzer_test_rebuilt(void) { return 42; }\n")
    must(cc)
    old, new = build_id(orig), build_id(binary)
    require(old and new and old != new, "build-ids: %s and %s" % (old, new))

    rep, p = report_json(trace)
    expect("rebuilt: the note", ["timerleak-report: note: %s: found with a different build-id "
                                 "than the traced binary; not trusted" % binary], notes(p))
    out = text(report(trace).stdout)
    expect_not_symbolized("rebuilt", rep, out, binary, orig, line)

    # The original in a debug dir is found, and trusted.
    rep, p = report_json(trace, "--debug-dir", wpath("orig"))
    expect("--debug-dir with the original: notes", [], notes(p))
    expect_symbolized("--debug-dir with the original", rep, src)


# ---------------------------------------------------------------------------
# drops.full_disk: events lost because the disk filled up

def case_drops_full_disk():
    need_recorder()
    if not E.get("TL_IN_NAMESPACE"):
        if not shutil.which("unshare") or subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "true"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            raise Skip("cannot make a mount namespace (this case needs root)")
        E["TL_IN_NAMESPACE"] = "1"
        sys.stdout.flush()
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private",
                              sys.executable, os.path.abspath(__file__), "drops.full_disk"])
    disk = wpath("disk")
    os.makedirs(disk)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", disk]
                      ).returncode != 0:
        raise Skip("cannot mount a tmpfs")
    try:
        # Tickers tick every 2 ms for 300 ms: far more than 16 KiB of trace.
        p = must(["timeout", "-k", "5", "60", "env", "LD_PRELOAD=" + PRELOAD,
                  "TIMERLEAK_OUTPUT=" + os.path.join(disk, "t.tlk"), td("leak_ticker"),
                  "-n", "200", "-p", "2", "-l", "300"], env=clean_env(GOTIMER_CHAN="async"))
        v = vals(text(p.stdout))
        require(os.path.isfile(os.path.join(disk, "t.tlk")), "no trace on the full disk")
        shutil.copy2(os.path.join(disk, "t.tlk"), wpath("full.tlk"))
    finally:
        subprocess.run(["umount", disk])
    trace = wpath("full.tlk")
    rep, _ = report_json(trace)
    t = rep["trace"]
    check(t["dropped"] >= 1, "dropped: %d, expected some (a 16 KiB disk)" % t["dropped"])
    check(t["dropped_write_failed"] >= 1, "dropped_write_failed: %d" % t["dropped_write_failed"])
    expect("dropped by reason add up", t["dropped"],
           sum(t[k] for k in ("dropped_ring_full", "dropped_write_failed",
                              "dropped_too_many_threads", "dropped_out_of_memory",
                              "dropped_untracked")))
    expect("trace complete (the end record fits in the reserved space)", True, t["complete"])
    # The dropped records, as --events lists them, add up to the report's.
    ev = text(report(trace, "--events").stdout)
    expect("dropped records (--events) sum", t["dropped"],
           sum(int(c) for c in re.findall(r" dropped tid=\d+ count=(\d+)", ev)))
    common_trace(rep, trace, "async")
    tickers = [f for f in rep["findings"] if f["pattern"] == "never-stopped-ticker"]
    check(len(tickers) == 1, "the never-stopped ticker is still found: %s" %
          [describe(f) for f in rep["findings"]])
    if tickers:
        expect_range("tickers found running (at most those created)", 1,
                     v.get("tickers_created"), tickers[0]["count"])
    out = check_text(trace, rep)
    # Every reason with a count, and only those: the parts add up.
    parts = ", ".join("%s %s" % (format(t[k], ","), why) for k, why in (
        ("dropped_ring_full", "ring full"), ("dropped_write_failed", "unwritable"),
        ("dropped_too_many_threads", "too many threads"),
        ("dropped_out_of_memory", "out of memory"),
        ("dropped_untracked", "kernel timers untracked")) if t[k])
    expect("text: the lost line", ["  lost      %s events dropped (%s); findings marked "
                                   "(uncertain) may be off" % (format(t["dropped"], ","), parts)],
           [l for l in out.split("\n") if l.startswith("  lost")])


# ---------------------------------------------------------------------------
# truncated.*: traces cut short

def chunks(data):
    """The offsets where each chunk starts, and the file's end."""
    offs, off = [], 16
    while off + 32 <= len(data):
        require(data[off:off + 4] == b"TLCK", "no chunk magic at %d" % off)
        offs.append(off)
        off += 32 + struct.unpack_from("<I", data, off + 4)[0]
    expect("chunks end at the end of the file", len(data), off)
    return offs


def cut(data, n, name):
    path = wpath(name)
    with open(path, "wb") as f:
        f.write(data[:n])
    return path


def comparable(rep):
    rep = json.loads(json.dumps(rep))
    rep["trace"].pop("path")
    return rep


def case_truncated_chunks():
    trace, v = record("full", [td("leak_ticker"), "-n", "40", "-l", "100", "-w", "2"], "async",
                      TIMERLEAK_FLUSH_MS="5")
    with open(trace, "rb") as f:
        data = f.read()
    offs = chunks(data)
    require(len(offs) >= 6, "only %d chunks (TIMERLEAK_FLUSH_MS=5)" % len(offs))
    full, _ = report_json(trace)
    expect("the whole trace: complete", True, full["trace"]["complete"])
    # Cut after k whole chunks, for a few k from the first to the last.
    ks = sorted(set([1, 2, len(offs) // 3, 2 * len(offs) // 3, len(offs) - 1]))
    prev = -1
    for k in ks:
        end = offs[k]
        path = cut(data, end, "cut%d.tlk" % k)
        rep, p = report_json(path)
        what = "cut after %d of %d chunks (byte %d)" % (k, len(offs), end)
        expect(what + ": complete", False, rep["trace"]["complete"])
        # Cut at a chunk boundary: nothing damaged, only the end missing:
        # a note, as for a service killed without warning.
        check("the trace has no end record" in text(p.stderr), what + ": no note that the "
              "trace has no end: %r" % text(p.stderr))
        check(rep["trace"]["events"] >= prev, what + ": fewer events than an earlier cut")
        prev = rep["trace"]["events"]
        # What --events reads of the same bytes is what was analysed.
        ev = text(report(path, "--events").stdout)
        creates = len(re.findall(r" create id=\d+ kind=ticker", ev))
        expect(what + ": tickers created (--events)", creates, created(rep, "ticker"))
        expect(what + ": events (--events)", len(re.findall(r"^\S+ tid=\d+ ", ev, re.M)),
               rep["trace"]["events"])
        # None of leak_ticker's tickers is ever stopped: each cut finds
        # them all, a leak where they grew after start-up by 3 or more.
        tk = [f for f in rep["findings"] if f["pattern"] == "never-stopped-ticker"]
        grew = tk[0]["stats"]["grew"] if tk else 0
        want = [] if creates == 0 else [Want(
            "never-stopped-ticker", "leak" if grew >= 3 else "note", creates,
            "handle_request", "gt_ticker_new(", "testdata/leak_ticker.c")]
        expect_findings(rep, want, notes_ok=grew < 3, label=what + ": ")
        out = text(report(path).stdout)
        check("  ended     without an end record" in out,
              what + ": the text report does not say the trace has no end")
        # Inside the next chunk's header, and inside its payload: the same.
        for off, where in ((end + 7, "in the chunk header"),
                           (end + 32 + (offs[k + 1] - end - 32) // 2 if k + 1 < len(offs)
                            else len(data) - 1, "in the payload")):
            rep2, _ = report_json(cut(data, off, "cut%d.%d.tlk" % (k, off)))
            expect("%s, then %d bytes more, %s: the same report" % (what, off - end, where),
                   comparable(rep), comparable(rep2))
    # The last byte missing: the last chunk (with the end record) is lost.
    rep, _ = report_json(cut(data, len(data) - 1, "last.tlk"))
    expect("last byte cut: complete", False, rep["trace"]["complete"])
    # Inside the first chunk: nothing readable.
    p = report(cut(data, offs[0] + 40, "first.tlk"), code=2)
    check("no readable record in the trace" in text(p.stderr), "first chunk cut: %r" %
          text(p.stderr))


def case_truncated_header():
    trace = gen("drops")
    with open(trace, "rb") as f:
        data = f.read()
    for n, msg in ((0, "the file is empty"),
                   (1, "the file ends inside its 16-byte trace header (the trace was cut short "
                       "before anything was recorded)"),
                   (8, "the file ends inside its 16-byte trace header (the trace was cut short "
                       "before anything was recorded)"),
                   (15, "the file ends inside its 16-byte trace header (the trace was cut short "
                        "before anything was recorded)")):
        path = cut(data, n, "cut%d.tlk" % n)
        for opts in ([], ["--json"], ["--fail-on=leak"], ["--events"]):
            p = report(path, *opts, code=2)
            expect("%d bytes %s: stderr" % (n, " ".join(opts)),
                   "timerleak-report: %s: %s\n" % (path, msg), text(p.stderr))
            expect("%d bytes %s: stdout" % (n, " ".join(opts)), b"", p.stdout)
    path = cut(data, 16, "cut16.tlk")
    p = report(path, code=2)
    expect("the header alone: stderr",
           "timerleak-report: note: %s: the trace has no end record (the process was killed "
           "without warning, or is still being recorded): it is read up to its last chunk\n"
           "timerleak-report: %s: no readable record in the trace\n" % (path, path),
           text(p.stderr))
    expect("the header alone: stdout", b"", p.stdout)


# ---------------------------------------------------------------------------
# newer.*: a trace of a newer format version

def patch_version(src, name, major, minor):
    with open(src, "rb") as f:
        data = bytearray(f.read())
    struct.pack_into("<HH", data, 8, major, minor)
    path = wpath(name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def check_newer(trace):
    base, _ = report_json(trace)
    for major, minor in ((3, 0), (7, 3), (65535, 65535)):
        path = patch_version(trace, "v%d.%d.tlk" % (major, minor), major, minor)
        for opts in ([], ["--json"], ["--fail-on=warning"], ["--events"], ["--min-count=1"]):
            p = report(path, *opts, code=2)
            expect("version %d.%d %s: stderr" % (major, minor, " ".join(opts)),
                   "timerleak-report: %s: trace format version %d.%d is newer than this reader "
                   "(2.x); upgrade timerleak\n" % (path, major, minor), text(p.stderr))
            expect("version %d.%d %s: stdout" % (major, minor, " ".join(opts)), b"", p.stdout)
    # A newer minor version of the same major is read.
    path = patch_version(trace, "v2.9.tlk", 2, 9)
    rep, p = report_json(path)
    expect("version 2.9: the same report", comparable(base), comparable(rep))


def case_newer_gen():
    check_newer(gen("drops"))


def case_newer_recorded():
    trace, _ = record("leak_ticker", [td("leak_ticker"), "-n", "5", "-l", "20"], "async")
    check_newer(trace)


# ---------------------------------------------------------------------------
# The command line

def case_fail_on():
    leaks = gen("not_freed")            # leaks only
    warnings = gen("resets", "resets_async", "async")  # warnings only
    notes_only = gen("resets", "resets_sync", "sync")  # notes only
    mixed = gen("ticks")                # a leak and notes
    for trace, worst in ((leaks, 2), (warnings, 1), (notes_only, 0), (mixed, 2)):
        name = os.path.basename(trace)
        for opts, threshold in (([], 3), (["--fail-on=leak"], 2), (["--fail-on", "leak"], 2),
                                (["--fail-on=warning"], 1), (["--fail-on", "warning"], 1)):
            code = 1 if worst >= threshold else 0
            for fmt in ([], ["--json"]):
                p = report(trace, *(opts + fmt), code=code)
                check(p.stdout.strip(), "%s %s: no report printed" % (name, " ".join(opts + fmt)))
                expect("%s %s: stderr" % (name, " ".join(opts + fmt)), "",
                       re.sub(r"timerleak-report: note: [^\n]*not found[^\n]*\n", "",
                              text(p.stderr)))
    # A trace cut short is still judged, on what it holds: the tickers and
    # POSIX timers of the first chunk leak.
    with open(gen("drops", "drops", "10"), "rb") as f:
        data = f.read()
    path = cut(data, chunks(data)[1] + 40, "cut.tlk")
    p = report(path, "--fail-on=leak", code=1)
    check("the trace is truncated" in text(p.stderr), "cut trace --fail-on=leak: stderr %r" %
          text(p.stderr))
    # Output that cannot be written: 1, whatever --fail-on says.
    for opts in ([], ["--fail-on=leak"], ["--json"]):
        with open("/dev/full", "w") as full:
            p = run([REPORT] + opts + [notes_only], stdout=full)
        expect("to /dev/full %s: exit" % " ".join(opts), 1, p.returncode)
        check("timerleak-report: cannot write the output: No space left on device" in
              text(p.stderr), "to /dev/full: stderr %r" % text(p.stderr))
    # An unusable trace is 2, not 1, with --fail-on.
    p = report(wpath("missing.tlk"), "--fail-on=warning", code=2)
    expect("missing trace: stderr", "timerleak-report: %s: cannot read: No such file or "
           "directory\n" % wpath("missing.tlk"), text(p.stderr))


def case_man():
    # The man pages say what the tools do: every option of --help, every
    # setting the recorder reads, and no command that does not exist.
    man = os.path.join(SOURCE, "docs", "man")
    with open(os.path.join(man, "timerleak-report.1")) as f:
        report_man = f.read().replace("\\-", "-")
    opts = set(re.findall(r"^  (--[a-z-]+)", text(report("--help").stdout), re.M))
    require(opts, "no options in --help")
    for o in sorted(opts):
        check(o in report_man, "timerleak-report.1 does not document " + o)
    with open(os.path.join(man, "timerleak.1")) as f:
        wrapper_man = f.read().replace("\\-", "-")
    with open(os.path.join(SOURCE, "preload", "config.c")) as f:
        settings = set(re.findall(r'"(TIMERLEAK_[A-Z_]+)"', f.read()))
    require(len(settings) >= 10, "settings in preload/config.c: %s" % settings)
    with open(os.path.join(SOURCE, "README.md")) as f:
        readme = f.read()
    for v in sorted(settings):
        check(v in wrapper_man, "timerleak.1 does not document " + v)
        check("`%s`" % v in readme, "README does not document " + v)
    for o in ("-o", "--force", "--fail-on", "--fail-code", "--suppress", "--version"):
        check(o in wrapper_man, "timerleak.1 does not document " + o)
    # Every verb of the wrapper's usage is in its page.
    verbs = re.findall(r"^#   timerleak (\w+)", open(os.path.join(SOURCE, "scripts", "timerleak")).read(),
                       re.M)
    require(len(verbs) >= 5, "verbs in scripts/timerleak: %s" % verbs)
    for v in (v for v in verbs if v not in ("help", "version")):
        check("timerleak " + v in wrapper_man.replace("\n.B ", " ").replace(".B ", ""),
              "timerleak.1 does not document timerleak " + v)


def case_usage():
    trace = gen("not_freed")
    p = report("--help", code=0)
    check(text(p.stdout).startswith("Usage: timerleak-report [options] TRACE\n"),
          "--help: %r" % text(p.stdout)[:80])
    for opt in ("--json", "--fail-on=SEVERITY", "--debug-dir=DIR", "--sysroot=DIR",
                "--min-count=N", "--events", "--version"):
        check(opt in text(p.stdout), "--help does not mention " + opt)
    expect("--help: stderr", b"", p.stderr)
    p = report("--version", code=0)
    check(re.fullmatch(r"timerleak-report \d+\.\d+\.\d+\S* \(trace format \d+\.\d+\)\n",
                       text(p.stdout)), "--version: %r" % text(p.stdout))
    try_help = "Try 'timerleak-report --help' for more information.\n"
    bad = [(["--fail-on=note"], "--fail-on takes leak or warning, not note"),
           (["--fail-on="], "--fail-on takes leak or warning, not "),
           (["--fail-on=LEAK"], "--fail-on takes leak or warning, not LEAK"),
           (["--min-count=0"], "--min-count takes a number from 1 to 1000000, not 0"),
           (["--min-count=-1"], "--min-count takes a number from 1 to 1000000, not -1"),
           (["--min-count=3x"], "--min-count takes a number from 1 to 1000000, not 3x"),
           (["--min-count=1000001"], "--min-count takes a number from 1 to 1000000, not 1000001"),
           (["--min-count="], "--min-count takes a number from 1 to 1000000, not "),
           (["--bogus"], "unknown option --bogus"),
           (["-x"], "unknown option -x"),
           (["--json=yes"], "option needs an argument or takes none: --json=yes"),
           ([trace, trace], "more than one trace file given (--serve follows several)")]
    for opts, msg in bad:
        p = run([REPORT] + opts + ([] if trace in opts else [trace]))
        expect(" ".join(opts) + ": exit", 2, p.returncode)
        expect(" ".join(opts) + ": stderr", "timerleak-report: %s\n%s" % (msg, try_help),
               text(p.stderr))
        expect(" ".join(opts) + ": stdout", b"", p.stdout)
    for opts, msg in (([], "no trace file given"),
                      ([trace, "--fail-on"], "option needs an argument or takes none: --fail-on"),
                      ([trace, "--min-count"],
                       "option needs an argument or takes none: --min-count")):
        p = run([REPORT] + opts)
        expect(" ".join(opts) + ": exit", 2, p.returncode)
        expect(" ".join(opts) + ": stderr", "timerleak-report: %s\n%s" % (msg, try_help),
               text(p.stderr))
    # The last of a repeated option wins; option order does not matter.
    a, _ = report_json(trace, "--min-count=10", "--min-count=3")
    b, _ = report_json(trace, "--min-count=3")
    expect("repeated --min-count: the last wins", comparable(b), comparable(a))


def leaks_by_stack(rep):
    """{stack number: (pattern, severity, count)} of a synthetic trace."""
    res = {}
    for f in rep["findings"]:
        addr = int(frame0(f["site"]).get("address", "0x0"), 16)
        res.setdefault((addr - GEN_BIAS - 0x1000) // 0x100, []).append(
            (f["pattern"], f["severity"], f["count"]))
    return {k: sorted(v) for k, v in res.items()}


def case_min_count_gen():
    trace = gen("not_freed")
    nf = "timer-not-freed"
    for opts, want in (([], {1: [(nf, "leak", 3)], 3: [(nf, "leak", 3)], 5: [(nf, "leak", 4)]}),
                       (["--min-count=2"], {1: [(nf, "leak", 3)], 2: [(nf, "leak", 2)],
                                            3: [(nf, "leak", 3)], 5: [(nf, "leak", 4)]}),
                       (["--min-count=4"], {5: [(nf, "leak", 4)]}),
                       (["--min-count=5"], {})):
        rep, _ = report_json(trace, *opts)
        expect("not_freed %s" % " ".join(opts), want, leaks_by_stack(rep))
    # Tickers: at --min-count 4, three running are a note, and their
    # dropped ticks are reported again.
    trace = gen("ticks")
    rep, _ = report_json(trace, "--min-count=4")
    expect("ticks --min-count=4", {1: [("dropped-ticks", "note", 150)],
                                   2: [("dropped-ticks", "note", 180),
                                       ("never-stopped-ticker", "note", 3)],
                                   5: [("dropped-ticks", "note", 50)]}, leaks_by_stack(rep))
    # Kernel timers: 5 and 200 per site.
    trace = gen("drops", "drops0", "0")
    rep, _ = report_json(trace, "--min-count=11")
    expect("drops --min-count=11", {1: [("never-stopped-ticker", "note", 5)],
                                    2: [("undeleted-posix-timer", "note", 10)],
                                    3: [("undeleted-posix-timer", "leak", 11)],
                                    4: [("unclosed-timerfd", "leak", 200)],
                                    5: [("after-in-loop", "leak", 150)]}, leaks_by_stack(rep))
    # After-in-loop's thresholds are not --min-count's.
    trace = gen("churn")
    a, _ = report_json(trace)
    b, _ = report_json(trace, "--min-count=1000000")
    expect("churn: --min-count=1000000 changes nothing", leaks_by_stack(a), leaks_by_stack(b))


def case_min_count_recorded():
    # --min-count is the growth after start-up that makes a leak: at the
    # site's own growth a leak, one above a note; a fixed set (ok_ticker's
    # process-wide ticker) is a note whatever the threshold.
    trace, v = record("leak_ticker", [td("leak_ticker"), "-n", "40", "-l", "20"], "sync")
    rep, _ = report_json(trace)
    f = [f for f in rep["findings"] if f["pattern"] == "never-stopped-ticker"]
    require(len(f) == 1, "leak_ticker: one never-stopped-ticker finding: %s" % rep["findings"])
    grew = f[0]["stats"]["grew"]
    check(grew >= 3, "leak_ticker: grew by %d after start-up, expected 3 or more" % grew)
    for opts, sev in (([], "leak"), (["--min-count=%d" % grew], "leak"),
                      (["--min-count=%d" % (grew + 1)], "note"),
                      (["--min-count", "1000000"], "note")):
        rep, _ = report_json(trace, *opts)
        # Below the threshold the tickers' dropped ticks are a note again.
        expect_findings(rep, [Want("never-stopped-ticker", sev, 40, "handle_request",
                                   "gt_ticker_new(", "testdata/leak_ticker.c")],
                        notes_ok=sev == "note", label="leak_ticker %s: " % " ".join(opts))
    # ok_ticker lingers 1.5 s: a window long enough to have a start-up.
    trace, v = record("ok_ticker", [td("ok_ticker"), "-n", "10", "-l", "1500"], "sync")
    rep, _ = report_json(trace, "--min-count=1")
    expect_findings(rep, [Want("never-stopped-ticker", "note", 1, "stats_ticker_open",
                               "gt_ticker_new(", "testdata/ok_ticker.c")],
                    label="ok_ticker --min-count=1: ")
    # In a window under a second nothing tells a ticker made once from one
    # of many: what the site kept is its growth, judged by the threshold.
    trace, v = record("ok_ticker_short", [td("ok_ticker"), "-n", "10", "-l", "20"], "sync")
    for opts, sev in (([], "note"), (["--min-count=1"], "leak")):
        rep, _ = report_json(trace, *opts)
        f = [f for f in rep["findings"] if f["pattern"] == "never-stopped-ticker"]
        if check(len(f) == 1, "ok_ticker, short %s: %s" % (opts, rep["findings"])):
            expect("ok_ticker, short %s: severity" % opts, sev, f[0]["severity"])
            check("(too short to have a start-up)" in f[0]["window"],
                  "ok_ticker, short %s: window %r" % (opts, f[0]["window"]))
    trace, v = record("leak_timerfd", [td("leak_timerfd"), "-n", "40", "-r", "3"])
    rep, _ = report_json(trace)
    f = [f for f in rep["findings"] if f["pattern"] == "unclosed-timerfd"]
    require(len(f) == 1, "leak_timerfd: one unclosed-timerfd finding: %s" % rep["findings"])
    grew = f[0]["stats"]["grew"]
    for opts, sev in ((["--min-count=%d" % grew], "leak"), (["--min-count=%d" % (grew + 1)],
                                                           "note")):
        rep, _ = report_json(trace, *opts)
        expect_findings(rep, [Want("unclosed-timerfd", sev, 40, "keepalive_open",
                                   "timerfd_create(", "testdata/leak_timerfd.c")],
                        label="leak_timerfd %s: " % " ".join(opts))


# ---------------------------------------------------------------------------
# gen.*: synthetic traces at the detectors' thresholds

def gen_text_lines(trace, *opts):
    return text(report(trace, *opts).stdout).split("\n")


def case_gen_drops():
    for lost, uncertain in ((10, {1, 2}), (4, set()), (0, set())):
        trace = gen("drops", "drops%d" % lost, str(lost))
        rep, _ = report_json(trace)
        t = rep["trace"]
        ring = lost * 6 // 10
        expect("%d lost: dropped" % lost, [lost, ring, lost - ring],
               [t["dropped"], t["dropped_ring_full"], t["dropped_write_failed"]])
        expect("%d lost: complete" % lost, True, t["complete"])
        wants = [Want("never-stopped-ticker", "leak", 5, stack=1, uncertain=1 in uncertain),
                 Want("undeleted-posix-timer", "leak", 10, stack=2, uncertain=2 in uncertain,
                      pending_end=0),
                 Want("undeleted-posix-timer", "leak", 11, stack=3, pending_end=0),
                 Want("unclosed-timerfd", "leak", 200, stack=4, pending_end=200, periodic_end=200),
                 Want("after-in-loop", "leak", 150, stack=5, peak_pending=150, abandoned=150)]
        expect_findings(rep, wants, label="%d lost: " % lost)
        out = check_text(trace, rep)
        lost_lines = [l for l in out.split("\n") if l.startswith("  lost")]
        expect("%d lost: text" % lost, ["  lost      %d events dropped (%d ring full, %d "
                                        "unwritable); findings marked (uncertain) may be off" %
                                        (lost, ring, lost - ring)] if lost else [], lost_lines)


def case_gen_not_freed():
    trace = gen("not_freed")
    rep, _ = report_json(trace)
    expect_findings(rep, [Want("timer-not-freed", "leak", 3, stack=1, live_end=3),
                          Want("timer-not-freed", "leak", 3, stack=3),
                          Want("timer-not-freed", "leak", 4, stack=5, stopped=4)])
    check_text(trace, rep)


def case_gen_ticks():
    trace = gen("ticks")
    rep, _ = report_json(trace)
    expect_findings(rep, [Want("dropped-ticks", "note", 150, stack=1, fired=200),
                          Want("never-stopped-ticker", "leak", 3, stack=2, dropped_ticks=180),
                          Want("dropped-ticks", "note", 50, stack=5, fired=100)])
    check_text(trace, rep)


def case_gen_churn():
    trace = gen("churn")
    rep, _ = report_json(trace)
    expect_findings(rep, [Want("after-in-loop", "warning", 90, stack=1, created=100, abandoned=90,
                               peak_pending=1),
                          Want("after-in-loop", "leak", 100, stack=4, peak_pending=100),
                          Want("after-in-loop", "warning", 120, stack=5, peak_pending=99)])
    check_text(trace, rep)


def case_gen_resets(mode):
    trace = gen("resets", "resets_" + mode, mode)
    rep, _ = report_json(trace)
    sev = "note" if mode == "sync" else "warning"
    expect("process.mode", None if mode == "none" else mode, rep["process"]["mode"])
    expect_findings(rep, [Want("reset-without-drain", sev, 3, stack=1, at=2),
                          Want("reset-without-drain", sev, 1, stack=1, at=3),
                          Want("reset-without-drain", sev, 2, stack=4, at=2)])
    for f in rep["findings"]:
        check(f["call_site"], "%s: no call_site" % describe(f))
    out = check_text(trace, rep)
    check(out.count("\n    at\n") == 3 and out.count("\n    timer created at\n") == 3,
          "text: each reset finding shows 'at' and 'timer created at'")


def case_gen_go(mode):
    """Go's timers, live while pending: each pattern with the version's
    verdict. With synchronous channels an abandoned After is churn and an
    unstopped Ticker may be collected: warnings; AfterFunc a leak on both."""
    trace = gen("go", "go_" + mode, mode)
    rep, _ = report_json(trace)
    sync = mode == "sync"
    expect("process.runtime", "go1.23.4" if sync else "go1.22.5", rep["process"]["runtime"])
    expect_findings(rep, [
        Want("never-stopped-ticker", "warning" if sync else "leak", 20, stack=1),
        Want("after-in-loop", "warning" if sync else "leak", 150, stack=2,
             created=150, abandoned=150, peak_pending=150),
        Want("callback-retention", "leak", 30, stack=3)])
    for f in rep["findings"]:
        st = f["stats"]
        expect("%s: live at the end is what is pending" % describe(f), st["pending_end"],
               st["live_end"])
    for f in rep["findings"]:
        if f["pattern"] == "after-in-loop":
            check(("upgrading from 1.22 fixes" in f["fix"]) != sync,
                  "after-in-loop fix, %s mode: %r" % (mode, f["fix"]))
    expect("timers live at the end", 20 + 30 + 150, rep["trace"]["live_end"])
    check_text(trace, rep)


def case_gen_no_events():
    """A trace with no timer event yet (a recording followed from its
    start): an empty window at the recording's start, not before it."""
    trace = gen("no_events")
    rep, _ = report_json(trace)
    w = rep["trace"]["window"]
    expect("window", (0, 0, 0), (w["start_s"], w["startup_end_s"], w["end_s"]))
    expect("findings", [], rep["findings"])


def case_gen_callbacks():
    trace = gen("callbacks")
    rep, _ = report_json(trace)
    expect_findings(rep, [Want("callback-retention", "leak", 20, stack=1,
                               peak_pending_bytes=1048600, arg_bytes_max=52358, pending_end=20),
                          Want("callback-retention", "leak", 40, stack=5,
                               peak_pending_bytes=40 * (72 + 65536), pending_end=0)])
    check_text(trace, rep)


def case_gen_unknown():
    trace = gen("unknown")
    rep, _ = report_json(trace)
    expect("timers_before_trace", 2, rep["trace"]["timers_before_trace"])
    expect("orphan_events", 2, rep["trace"]["orphan_events"])
    # Timers of unknown origin are never blamed on a site.
    expect_findings(rep, [Want("unclosed-timerfd", "leak", 3, stack=2)])
    out = check_text(trace, rep)
    expect("text: the unknown line", ["  unknown   2 timers created before the trace, 2 events "
                                      "of timers never seen created"],
           [l for l in out.split("\n") if l.startswith("  unknown")])


def case_gen_forever():
    trace = gen("forever")
    rep, _ = report_json(trace)
    # Armed for 292 years, or for 146: still armed at the end, ten
    # seconds in.
    expect_findings(rep, [Want("unclosed-timerfd", "leak", 3, stack=1, pending_end=3),
                          Want("unclosed-timerfd", "note", 1, stack=2, pending_end=1)])
    check_text(trace, rep)


def case_gen_id_rules():
    # The writer refused the creates that break the id rules; the three
    # that keep them are one leak.
    trace = gen("id_rules")
    rep, _ = report_json(trace)
    expect_findings(rep, [Want("unclosed-timerfd", "leak", 3, stack=1, pending_end=3)])
    check_text(trace, rep)


def case_gen_attached():
    # An attached recording: said in the report, the timers found when it
    # attached counted from then and not judged, the growth after found.
    trace = gen("attached")
    rep, _ = report_json(trace)
    expect("attached: process_started_s", -90,
           (rep["trace"]["attached"] or {}).get("process_started_s"))
    expect("timers before the trace", 6, rep["trace"]["timers_before_trace"])
    # The timer first seen at a fire has its first stack, its reset's, for site.
    expect_findings(rep, [Want("unclosed-timerfd", "leak", 30, stack=1),
                          Want("reset-without-drain", "warning", 4, stack=2, at=2)])
    f = [f for f in rep["findings"] if f["pattern"] == "reset-without-drain"][0]
    expect("reset-without-drain: site_made_before", 1, f["site_made_before"])
    out = text(report(trace).stdout)
    check(re.search(r"^  attached  at \d\d:\d\d:\d\d to pid 4242, running for 1.5 min by "
                    r"then; timers created before are counted from their first event$",
                    out, re.M), "no attached line:\n" + out)
    check("timer first seen at" in out, "no 'timer first seen at' line:\n" + out)
    check_text(trace, rep)


def case_gen_late_create():
    # A callback timer fired and freed before its create was written (the
    # recorder stamps a create on entry, writes it on return): no orphan, no
    # timer from before the trace, nothing live, no finding. A fire written
    # after its timer's free but stamped before it is no orphan either.
    trace = gen("late_create")
    rep, _ = report_json(trace)
    expect("created afterfunc", 4, created(rep, "afterfunc"))
    expect("orphan_events (the stop after a free)", 1, rep["trace"]["orphan_events"])
    expect("timers_before_trace", 0, rep["trace"]["timers_before_trace"])
    expect_findings(rep, [])
    check_text(trace, rep)


def case_gen_lost():
    # Losses of every reason add up, in the JSON and on the text's lost
    # line; kernel timers the recorder could not follow make every kernel
    # finding uncertain, whatever its count.
    trace = gen("lost")
    rep, _ = report_json(trace)
    t = rep["trace"]
    expect("dropped, and by reason", [15, 1, 2, 3, 4, 5],
           [t[k] for k in ("dropped", "dropped_ring_full", "dropped_write_failed",
                           "dropped_too_many_threads", "dropped_out_of_memory",
                           "dropped_untracked")])
    expect_findings(rep, [Want("unclosed-timerfd", "leak", 20, stack=1, uncertain=True),
                          Want("undeleted-posix-timer", "leak", 20, stack=2, uncertain=True),
                          Want("never-stopped-ticker", "leak", 20, stack=3, uncertain=False)])
    lines = [l for l in gen_text_lines(trace) if l.startswith("  lost")]
    expect("the lost line", ["  lost      15 events dropped (1 ring full, 2 unwritable, 3 too "
                             "many threads, 4 out of memory, 5 kernel timers untracked); "
                             "findings marked (uncertain) may be off"], lines)


def case_gen_snapshots():
    # The snapshots taken are in both reports, with the timers live at each;
    # --at a snapshot the trace does not have, or past its end, is refused.
    trace = gen("snapshots")
    rep, _ = report_json(trace)
    got = [(round(s["time_s"], 3), s["live"]) for s in rep["trace"]["snapshots"]]
    expect("snapshots (time, live)", [(1.01, 10), (1.03, 30)], got)
    lines = [l for l in gen_text_lines(trace) if l.startswith("  snapshots")]
    expect("the snapshots line", ["  snapshots 1 at 1.01 s (10 live), 2 at 1.03 s (30 live)"],
           lines)


def case_concatenated():
    # Two traces in one file (cat a.tlk b.tlk): the first is reported, the
    # second is left unread, and a warning says so.
    a, b = gen("drops", "a", "0"), gen("not_freed", "b")
    with open(wpath("ab.tlk"), "wb") as f:
        for t in (a, b):
            with open(t, "rb") as g:
                f.write(g.read())
    first, _ = report_json(a)
    rep, p = report_json(wpath("ab.tlk"))
    expect("the first trace's report", comparable(first)["findings"], comparable(rep)["findings"])
    expect("unread bytes (the second trace)", os.path.getsize(b), rep["trace"]["unread_bytes"])
    check(re.search(r"warning: .*ab\.tlk: %d bytes after the trace's end record, from byte %d, "
                    r"are not part of it" % (os.path.getsize(b), os.path.getsize(a)),
                    text(p.stderr)), "no warning about the second trace: %r" % text(p.stderr))


def case_outputs():
    # --pprof and --timeline: never over the trace itself, whole or not at
    # all, with the real error, exit 1 when they cannot be written.
    trace = gen("drops", "in", "0")
    with open(trace, "rb") as f:
        original = f.read()
    os.symlink("in.tlk", wpath("link.tlk"))
    for opts in (["--pprof", trace], ["--timeline", trace], ["--pprof", wpath("link.tlk")],
                 ["--timeline=" + wpath("link.tlk")]):
        p = report(trace, *opts, code=2)
        check("names the trace itself, which it would overwrite" in text(p.stderr),
              "%s: %r" % (" ".join(opts), text(p.stderr)))
        with open(trace, "rb") as f:
            check(f.read() == original, "%s: the trace was changed" % " ".join(opts))
    p = report(trace, "--pprof", wpath("same"), "--timeline", wpath("same"), code=2)
    check("--pprof and --timeline name the same file" in text(p.stderr), text(p.stderr))
    # A full device: the real error.
    p = report(trace, "--pprof", "/dev/full", code=1)
    expect("/dev/full", "timerleak-report: cannot write /dev/full: No space left on device",
           text(p.stderr).strip().split("\n")[0])
    check(os.path.exists("/dev/full") and not os.path.isfile("/dev/full"),
          "/dev/full is no longer a device")
    # A symlink to a file not yet there: the target is written, the link kept.
    os.symlink("target.pb.gz", wpath("out.pb.gz"))
    report(trace, "--pprof", wpath("out.pb.gz"))
    check(os.path.islink(wpath("out.pb.gz")) and os.path.isfile(wpath("target.pb.gz")),
          "the output symlink was replaced, or its target not written")
    # --at without --pprof, or past the end.
    p = report(trace, "--at", "1", code=2)
    check("--at picks the moment of --pprof's in-use values: give --pprof too" in
          text(p.stderr), text(p.stderr))
    p = report(trace, "--at", "99", "--pprof", wpath("at.pb.gz"), code=2)
    check(re.search(r"--at 99\.000 is past the trace's end \([0-9.]+ s\)", text(p.stderr)),
          text(p.stderr))
    check(not os.path.exists(wpath("at.pb.gz")), "a profile was written for --at 99")
    # A full disk: nothing partial left, an existing file kept whole.
    if os.geteuid() != 0:
        return
    disk = wpath("disk")
    os.makedirs(disk)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", disk]).returncode:
        return
    try:
        with open(os.path.join(disk, "old.json"), "w") as f:
            f.write("old")
        big = gen("drops", "big", "0")
        p = report(big, "--timeline", os.path.join(disk, "old.json"), code=1)
        expect("full disk: the error", "timerleak-report: cannot write %s: No space left on "
               "device" % os.path.join(disk, "old.json"), text(p.stderr).strip().split("\n")[0])
        with open(os.path.join(disk, "old.json")) as f:
            expect("full disk: the existing file", "old", f.read())
        expect("full disk: files left", ["old.json"], sorted(os.listdir(disk)))
    finally:
        subprocess.run(["umount", disk])


def case_suppress():
    # Accepted findings leave the report's findings and --fail-on, and are
    # listed as suppressed; a rule that does not parse is an error.
    trace, v = record("leak_ticker", [td("leak_ticker"), "-n", "40", "-l", "20"], "async")
    src = "testdata/leak_ticker.c"
    line = creating_line(src, "handle_request", "gt_ticker_new(")
    cases = [("never-stopped-ticker  fun:handle_*\n", True),
             ("# accepted\n\n*   src:%s:%d   # the per-request ticker\n" % (src, line), True),
             ("never-stopped-ticker src:leak_ticker.c\n", True),
             ("after-in-loop fun:handle_request\n", False),
             ("* src:leak_ticker.c:%d\n" % (line + 1), False),
             ("* src:ak_ticker.c\n", False)]
    for i, (rules, hit) in enumerate(cases):
        path = wpath("s%d.supp" % i)
        with open(path, "w") as f:
            f.write(rules)
        rep, _ = report_json(trace, "--suppress", path)
        what = "rules %r" % rules
        if hit:
            expect(what + ": findings", [], rep["findings"])
            expect(what + ": suppressed", [("never-stopped-ticker", "leak", 40)],
                   [(f["pattern"], f["severity"], f["count"]) for f in rep["suppressed"]])
            expect(what + ": the rule's line", rules.count("\n"), rep["suppressed"][0]["rule_line"])
            report(trace, "--suppress", path, "--fail-on=leak", code=0)
            out = text(report(trace, "--suppress", path).stdout)
            check("1 suppressed by " in out and "\nSuppressed (" in out, what + ": text: " + out)
        else:
            expect(what + ": findings", ["never-stopped-ticker"],
                   [f["pattern"] for f in rep["findings"]])
            expect(what + ": suppressed", [], rep["suppressed"])
            report(trace, "--suppress", path, "--fail-on=leak", code=1)
    for rules, msg in (("never-stopped-ticker\n", "a rule is PATTERN PLACE, e.g. "
                        "\"never-stopped-ticker fun:housekeeping\""),
                       ("leaky fun:x\n", "unknown pattern leaky (one of docs/detectors.md's, or *)"),
                       ("* fn:x\n", "the place is fun:FUNCTION, src:FILE:LINE or src:FILE, not fn:x")):
        path = wpath("bad.supp")
        with open(path, "w") as f:
            f.write("# ok\n" + rules)
        p = report(trace, "--suppress", path, code=2)
        expect("bad rule %r" % rules, "timerleak-report: --suppress: %s:2: %s" % (path, msg),
               text(p.stderr).strip())
    p = report(trace, "--suppress", wpath("missing.supp"), code=2)
    expect("missing file", "timerleak-report: --suppress: %s: No such file or directory" %
           wpath("missing.supp"), text(p.stderr).strip())


def case_gen_far_start():
    # Garbage in one field: a report (any numbers) or a refusal with a
    # message, never a crash; the sanitized analyzer then reads it too.
    trace = gen("far_start")
    p = run([REPORT, "--json", trace])
    check(p.returncode in (0, 2), "exit %d (%s): %s" % (
        p.returncode, "killed by signal %d" % -p.returncode if p.returncode < 0 else "",
        text(p.stderr)[-400:]))
    if p.returncode == 0:
        # Times before the recording's own start make its window garbage:
        # the three timerfds are found, whatever the verdict.
        rep = json.loads(p.stdout)
        expect("findings (pattern, count)", [("unclosed-timerfd", 3)],
               [(f["pattern"], f["count"]) for f in rep["findings"]])
    elif p.returncode == 2:
        check(text(p.stderr).startswith("timerleak-report: "), "no message: %r" %
              text(p.stderr))


def max_rss_kb(cmd):
    """Run cmd (output discarded); @return its exit status and peak RSS in KiB."""
    log("$ " + " ".join(map(str, cmd)))
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=WORK, env=clean_env())
    _, st, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(st)
    return p.returncode, ru.ru_maxrss


def case_gen_sparse_stack():
    # Memory follows the trace's timers, sites and stacks (analysis.h), not
    # the largest stack id: a trace of three timers needs a few MiB.
    for sid in (20000000, 4000000000):
        trace = gen("sparse_stack", "stack%d" % sid, str(sid))
        code, rss = max_rss_kb([REPORT, trace])
        expect("stack id %d: exit" % sid, 0, code)
        check(rss < 64 * 1024, "stack id %d: the report took %d MiB for three timers" % (
            sid, rss // 1024))
        if code == 0:
            rep, _ = report_json(trace)
            expect_findings(rep, [Want("unclosed-timerfd", "leak", 3, stack=1)],
                            label="stack id %d: " % sid)


def case_json_non_utf8():
    # A binary in a directory whose name is Latin-1, as a service's may be.
    binary = copy_program("leak_timerfd", os.path.join(os.fsencode(WORK), b"caf\xe9",
                                                        b"leak_timerfd").decode(
        "utf-8", "surrogateescape"))
    trace, _ = record("non_utf8", [binary, "-n", "4", "-r", "1"])
    p = report(trace, "--json")
    try:
        doc = json.loads(p.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fail("--json with a non-UTF-8 executable path: not UTF-8 JSON (RFC 8259 8.1): %s; "
             "process.exe is %r" % (e, re.search(rb'"exe":"[^"]*"', p.stdout).group(0)
                                    if re.search(rb'"exe":"[^"]*"', p.stdout) else None))
        return
    check("caf" in doc["process"]["exe"] and doc["process"]["exe"].endswith("/leak_timerfd"),
          "process.exe: %r" % doc["process"]["exe"])


# ---------------------------------------------------------------------------
# fuzz_seeds: the analysis fuzzer's seed corpus

def case_fuzz_seeds():
    seeds = E.get("TL_FUZZ_SEEDS", "")
    require(seeds, "TL_FUZZ_SEEDS is not set")
    shutil.rmtree(seeds, ignore_errors=True)
    os.makedirs(seeds)
    # Not gen.forever's trace: the fuzzer would stop at it at once (the
    # overflow that case reports) and fuzz nothing.
    traces = [gen("drops"), gen("not_freed"), gen("ticks"), gen("churn"),
              gen("resets", "resets", "async"), gen("unknown")]
    if E.get("TL_RECORD", "1") != "0":
        for prog, args, mode in (("leak_ticker", ["-n", "6", "-l", "20"], "async"),
                                 ("ok_ticker", ["-n", "4", "-l", "20"], "sync"),
                                 ("leak_after_loop", ["-n", "150"], "async"),
                                 ("leak_after_loop", ["-n", "150"], "sync"),
                                 ("leak_reset_nodrain", ["-n", "4"], "async"),
                                 ("ok_reset_drain", ["-n", "3"], "sync"),
                                 ("leak_afterfunc", ["-n", "30", "-d", "1"], "async"),
                                 ("ok_afterfunc", ["-n", "9"], "async"),
                                 ("leak_timerfd", ["-n", "5", "-r", "1"], None),
                                 ("ok_timerfd", ["-n", "5", "-r", "1"], None),
                                 ("leak_posix_timer", ["-n", "5"], None),
                                 ("ok_posix_timer", ["-n", "5"], None)):
            name = "%s_%s" % (prog, mode or "libc")
            trace, _ = record(name, [td(prog)] + args, mode, TIMERLEAK_FLUSH_MS="10")
            traces.append(trace)
    for trace in traces:
        stem = os.path.basename(trace)[:-4]
        with open(trace, "rb") as f:
            data = f.read()
        if len(data) <= 60000:
            with open(os.path.join(seeds, stem + "-file"), "wb") as f:
                f.write(b"\x01\x00" + data)
        must([GEN, "fuzzseed", trace, os.path.join(seeds, stem + "-ops")])
    log("%d seeds in %s" % (len(os.listdir(seeds)), seeds))


# ---------------------------------------------------------------------------
# The sanitized analyzer on every trace the case left

def sanitized_sweep():
    if not REPORT_SAN:
        return
    traces = []
    for root, _, files in os.walk(WORK):
        traces += [os.path.join(root, f) for f in files if f.endswith(".tlk")]
    if not traces:
        return
    log("sanitized analyzer on %d traces" % len(traces))
    every = ([], ["--json"], ["--events"], ["--min-count=1"],
             ["--pprof=" + wpath("san.pb.gz"), "--timeline=" + wpath("san.json")])
    for i, trace in enumerate(sorted(traces, key=lambda t: (os.path.getmtime(t), t))):
        rel = os.path.relpath(trace, WORK)
        # Every mode on the first few; the JSON report on the others (the
        # cuts of one trace, say), which keeps a case within seconds.
        for opts in every if i < 6 else (["--json"],):
            plain = subprocess.run([REPORT] + opts + [rel], cwd=WORK, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=clean_env())
            san = subprocess.run([REPORT_SAN] + opts + [rel], cwd=WORK, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=clean_env())
            what = "sanitized timerleak-report %s %s" % (" ".join(opts), rel)
            err = text(san.stderr)
            if re.search(r"runtime error|Sanitizer|ERROR: ", err):
                # One report per trace: the other modes would repeat it.
                fail("%s: %s" % (what, err[:3000]))
                with open(wpath("sanitizer.log"), "a") as f:
                    f.write("$ %s\n%s\n" % (what, err))
                break
            expect(what + ": exit (as the plain build's)", plain.returncode, san.returncode)
            expect(what + ": stdout (as the plain build's)", plain.stdout, san.stdout)
            expect(what + ": stderr (as the plain build's)", text(plain.stderr), err)


# ---------------------------------------------------------------------------

CASES = {
    "truncated.chunks": case_truncated_chunks,
    "truncated.header": case_truncated_header,
    "newer.gen": case_newer_gen,
    "newer.recorded": case_newer_recorded,
    "fail_on": case_fail_on,
    "usage": case_usage,
    "min_count.gen": case_min_count_gen,
    "min_count.recorded": case_min_count_recorded,
    "symbols.moved": case_symbols_moved,
    "symbols.sysroot": case_symbols_sysroot,
    "symbols.rebuilt": case_symbols_rebuilt,
    "drops.full_disk": case_drops_full_disk,
    "gen.drops": case_gen_drops,
    "gen.not_freed": case_gen_not_freed,
    "gen.ticks": case_gen_ticks,
    "gen.churn": case_gen_churn,
    "gen.unknown": case_gen_unknown,
    "gen.callbacks": case_gen_callbacks,
    "gen.no_events": case_gen_no_events,
    "gen.go.async": lambda: case_gen_go("async"),
    "gen.go.sync": lambda: case_gen_go("sync"),
    "gen.forever": case_gen_forever,
    "gen.id_rules": case_gen_id_rules,
    "gen.late_create": case_gen_late_create,
    "gen.attached": case_gen_attached,
    "gen.far_start": case_gen_far_start,
    "gen.sparse_stack": case_gen_sparse_stack,
    "gen.lost": case_gen_lost,
    "gen.snapshots": case_gen_snapshots,
    "concatenated": case_concatenated,
    "outputs": case_outputs,
    "suppress": case_suppress,
    "man": case_man,
    "json.non_utf8": case_json_non_utf8,
    "fuzz_seeds": case_fuzz_seeds,
}
for _m in ("none", "async", "sync"):
    CASES["gen.resets." + _m] = (lambda m: lambda: case_gen_resets(m))(_m)
for _m in ("async", "sync"):
    CASES["seed." + _m] = (lambda m: lambda: case_seed(m))(_m)
    for _p in ("leak_ticker", "ok_ticker", "leak_after_loop", "ok_timer_reset",
               "leak_reset_nodrain", "ok_reset_drain", "leak_afterfunc", "ok_afterfunc",
               "demo_service"):
        CASES["td.%s.%s" % (_p, _m)] = (lambda f, m: lambda: f(m))(globals()["td_" + _p], _m)
CASES["td.leak_timerfd"] = td_leak_timerfd
CASES["td.ok_timerfd"] = td_ok_timerfd
CASES["td.leak_posix_timer"] = td_leak_posix_timer
CASES["td.leak_posix_timer_none"] = lambda: td_leak_posix_timer(["-e", "none"])
CASES["td.ok_posix_timer"] = td_ok_posix_timer
CASES["td.ok_daemon"] = td_ok_daemon
CASES["td.leak_daemon"] = td_leak_daemon


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: analyzer_test.py CASE\ncases: " + " ".join(sorted(CASES)), file=sys.stderr)
        return 2
    missing = [k for k in ("TL_SOURCE", "TL_REPORT", "TL_GEN", "TL_PRELOAD", "TL_TESTDATA",
                           "TL_WORK") if not E.get(k)]
    if missing:
        print("analyzer_test.py: not set: %s (run it from ctest)" % " ".join(missing),
              file=sys.stderr)
        return 2
    if not E.get("TL_IN_NAMESPACE"):
        shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK, exist_ok=True)
    start = time.time()
    try:
        CASES[sys.argv[1]]()
        # Not on the fuzzer's seeds (not a test of them), nor on traces made
        # to take memory.
        if sys.argv[1] not in ("fuzz_seeds", "gen.sparse_stack"):
            sanitized_sweep()
    except Skip as e:
        log("%s: skipped: %s" % (sys.argv[1], e))
        return 77
    except Fatal as e:
        fail(str(e))
    except Exception:  # a bug here, or output nobody expected: show where
        import traceback
        traceback.print_exc()
        fail("unexpected error (above)")
    log("%s: %s in %.1f s" % (sys.argv[1], "FAILED (%d)" % len(failures) if failures else "ok",
                              time.time() - start))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

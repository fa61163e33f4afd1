#!/usr/bin/env python3
"""pprof_test.py - timerleak's pprof export, timeline and wrapper, end to end.

Usage: pprof_test.py CASE   (tests/pprof.cmake registers each as pprof.CASE)

Every case records real programs (testdata/, tests/pprof_prog.c) under
libtimerleak.so, writes what timerleak-report writes, and reads it back the
way a user would: with the real `go tool pprof`, python's json, the
timerleak wrapper, a web client. Expected numbers come from the programs'
own output, gt_object_size() (pprof_prog objsize) and the sources (the
creating call's line), never from a copy of what the tool printed.

A case checks everything it can and lists every broken expectation, then
exits 1 if there was one; 0 means it passed.

Environment (set by tests/pprof.cmake):
  TL_SOURCE    the source tree            TL_BUILD     the build tree
  TL_WRAPPER   build/timerleak            TL_PRELOAD   libtimerleak.so
  TL_REPORT    timerleak-report           TL_TESTDATA  testdata programs
  TL_PROG      tests/pprof_prog           TL_GO        the go command
  TL_GO_SRC    tests/pprof_go             TL_GO_HOME   Go's caches and HOME
  TL_WORK      this case's directory (emptied first); commands.log there
               holds every command the case ran, with its output
"""
import gzip
import html
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

import tlcheck
from tlcheck import (Fatal, check, expect, fail, failures, find_call, free_port, log,
                     require)

E = os.environ
SOURCE = E.get("TL_SOURCE", "")
BUILD = E.get("TL_BUILD", "")
WRAPPER = E.get("TL_WRAPPER", "")
PRELOAD = E.get("TL_PRELOAD", "")
REPORT = E.get("TL_REPORT", "")
TESTDATA = E.get("TL_TESTDATA", "")
PROG = E.get("TL_PROG", "")
GO = E.get("TL_GO", "go")
GO_SRC = E.get("TL_GO_SRC", "")
GO_HOME = E.get("TL_GO_HOME", "")
WORK = E.get("TL_WORK", "")

INDEXES = ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
SAMPLE_TYPES = "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes"

# ---------------------------------------------------------------------------
# Running things

def clean_env(**extra):
    """The environment without anything of a recorder already around us,
    with Go's own and the runtime in async mode (unless extra says)."""
    return tlcheck.clean_env(**{**go_env(), "GOTIMER_CHAN": "async", **extra})


def go_env():
    """Go's caches and HOME in the build tree; no network."""
    return {
        "HOME": os.path.join(GO_HOME, "home"),
        "GOCACHE": os.path.join(GO_HOME, "cache"),
        "GOPATH": os.path.join(GO_HOME, "path"),
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GO111MODULE": "on",
    }


def run(cmd, env=None, input=None, timeout=120, binary=False, cwd=None):
    """Run cmd; @return the CompletedProcess (stdout, stderr as text unless binary)."""
    log("$ " + " ".join(str(c) for c in cmd))
    try:
        p = subprocess.run([str(c) for c in cmd], env=env if env is not None else clean_env(),
                           input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=cwd or WORK)
    except subprocess.TimeoutExpired:
        raise Fatal("timed out after %d s: %s" % (timeout, " ".join(map(str, cmd))))
    except OSError as e:
        raise Fatal("cannot run %s: %s" % (cmd[0], e))
    if not binary:
        p.stdout = p.stdout.decode("utf-8", "replace")
        p.stderr = p.stderr.decode("utf-8", "replace")
    # Everything run, with its output, for a look after a failure.
    with open(os.path.join(WORK, "commands.log"), "a") as f:
        f.write("$ %s\n[exit %d]\n" % (" ".join(map(str, cmd)), p.returncode))
        if not binary:
            f.write(p.stdout + ("\n[stderr]\n" + p.stderr if p.stderr else "") + "\n")
    return p


def must(cmd, **kw):
    p = run(cmd, **kw)
    if p.returncode != 0:
        err = p.stderr if isinstance(p.stderr, str) else p.stderr.decode("utf-8", "replace")
        raise Fatal("exit status %d: %s\n%s" % (p.returncode, " ".join(map(str, cmd)), err))
    return p


def record(trace, cmd, **env):
    """Run cmd under the recorder into trace. @return its stdout."""
    trace = os.path.join(WORK, trace)
    if os.path.exists(trace):
        os.unlink(trace)
    p = must(cmd, env=clean_env(LD_PRELOAD=PRELOAD, TIMERLEAK_OUTPUT=trace, **env))
    require(os.path.isfile(trace), "no trace written to " + trace)
    return p.stdout


def td(name):
    return os.path.join(TESTDATA, name)


def vals(out):
    """key=value pairs of a program's output line(s)."""
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", out)}


def report(trace, *opts):
    return must([REPORT] + list(opts) + [trace])


def report_json(trace, *opts):
    return json.loads(report(trace, "--json", *opts).stdout)


def profile(trace, name, *opts):
    path = os.path.join(WORK, name)
    report(trace, "--pprof", path, *opts)
    require(os.path.isfile(path), "no profile written to " + path)
    return path


def pprof(*args, binary=False):
    """go tool pprof ARGS; fails the case on a non-zero exit."""
    return must([GO, "tool", "pprof"] + list(args), binary=binary)


def objsize():
    """gt_object_size() of each kind, as the runtime counts it."""
    out = vals(must([PROG, "objsize"]).stdout)
    sizes = {k: int(v) for k, v in out.items()}
    require(all(sizes.get(k, 0) > 0 for k in ("timer", "after", "afterfunc", "ticker")),
            "pprof_prog objsize: " + repr(out))
    return sizes


def creating_line(src, func, call):
    """The line of the first `call` in the definition of func in src, and
    its text."""
    return find_call(os.path.join(SOURCE, src), func, call)


# ---------------------------------------------------------------------------
# Reading pprof's output

TOP_ROW = re.compile(r"^\s*(-?[\d.]+\S*)\s+(-?[\d.]+%)\s+(-?[\d.]+%)\s+(-?[\d.]+\S*)\s+(-?[\d.]+%)\s+(.+?)\s*$")


def number(s):
    """A -top value: 50, 7600B, -3 (-unit=B gives bytes as whole numbers);
    None for a scaled one (7.42kB)."""
    m = re.match(r"^(-?\d+)(B)?$", s)
    return int(m.group(1)) if m else None


def top(*args):
    """go tool pprof -top ARGS: (header lines, [(name, flat, cum)]) in pprof's order."""
    out = pprof("-top", *args).stdout
    head, rows, in_rows = [], [], False
    for line in out.split("\n"):
        if re.match(r"^\s+flat\s+flat%", line):
            in_rows = True
            continue
        if not in_rows:
            head.append(line)
            continue
        m = TOP_ROW.match(line)
        if m:
            rows.append((m.group(6), number(m.group(1)), number(m.group(4))))
    return head, rows, out


def unit_args(index):
    return ["-unit=B"] if index.endswith("_space") else []


def header_value(head, key):
    for line in head:
        if line.startswith(key + ":"):
            return line[len(key) + 1:].strip()
    return None


def flat_rows(rows):
    """{name: flat} of the rows with a non-zero flat value."""
    return {name: flat for name, flat, _ in rows if flat != 0}


def parse_raw(out):
    """go tool pprof -raw: header lines, samples, locations, mappings."""
    raw = {"head": [], "types": None, "samples": [], "locations": {}, "mappings": []}
    section = "head"
    sample = None
    for line in out.split("\n"):
        if line == "Samples:":
            section = "types"
            continue
        if line == "Locations":
            section = "locations"
            continue
        if line == "Mappings":
            section = "mappings"
            continue
        if section == "head":
            raw["head"].append(line)
        elif section == "types":
            raw["types"] = line.strip()
            section = "samples"
        elif section == "samples":
            m = re.match(r"^\s+(-?\d+(?:\s+-?\d+)*):\s*([\d ]*)$", line)
            if m:
                sample = {"values": [int(v) for v in m.group(1).split()],
                          "locs": [int(v) for v in m.group(2).split()], "labels": {},
                          "num_labels": {}}
                raw["samples"].append(sample)
            elif sample is not None and line.strip():
                for k, v in re.findall(r"(\w+):\[([^\]]*)\]", line):
                    if re.match(r"^-?\d+ \w+$", v):
                        sample["num_labels"][k] = v
                    else:
                        sample["labels"][k] = v
        elif section == "locations":
            m = re.match(r"^\s+(\d+): (0x[0-9a-f]+) M=(\d+)(?: (.*?) (\S*):(\d+) s=\d+)?\s*$",
                         line)
            if m:
                loc = {"addr": int(m.group(2), 16), "mapping": int(m.group(3)), "lines": []}
                if m.group(4) is not None:
                    loc["lines"].append((m.group(4), m.group(5), int(m.group(6))))
                raw["locations"][int(m.group(1))] = loc
                last = loc
            else:
                m = re.match(r"^\s+(\S.*?) (\S*):(\d+) s=\d+$", line)
                if m and raw["locations"]:
                    last["lines"].append((m.group(1), m.group(2), int(m.group(3))))
        elif section == "mappings" and line.strip():
            raw["mappings"].append(line.strip())
    return raw


def leaf(raw, sample):
    """The function of a sample's innermost frame."""
    loc = raw["locations"].get(sample["locs"][0]) if sample["locs"] else None
    return loc["lines"][0][0] if loc and loc["lines"] else None


def sample_of(raw, func):
    got = [s for s in raw["samples"] if leaf(raw, s) == func]
    require(len(got) == 1, "expected one sample whose leaf is %s, found %d" % (func, len(got)))
    return got[0]


# ---------------------------------------------------------------------------
# Recordings shared by several cases

def leak_ticker(n=50):
    """leak_ticker -n N: its trace, its output's counts."""
    out = vals(record("leak_ticker.tlk", [td("leak_ticker"), "-n", n, "-l", 50]))
    expect("leak_ticker tickers_created", str(n), out.get("tickers_created"))
    return os.path.join(WORK, "leak_ticker.tlk"), out


def leak_after_loop(n=2000):
    out = vals(record("leak_after_loop.tlk", [td("leak_after_loop"), "-n", n]))
    expect("leak_after_loop mode", "async", out.get("mode"))
    return os.path.join(WORK, "leak_after_loop.tlk"), out


def demo_service(secs=1):
    out = vals(record("demo.tlk", [td("demo_service"), "-t", secs]))
    return os.path.join(WORK, "demo.tlk"), out


def grow(steady=10, a=5, b=20, c=7):
    out = vals(record("grow.tlk", [PROG, "grow", steady, a, b, c]))
    expect("pprof_prog grow", {"steady": str(steady), "grown": str(a + b + c),
                               "churned": str(a + b + c), "snapshots": "2"},
           {k: out.get(k) for k in ("steady", "grown", "churned", "snapshots")})
    return os.path.join(WORK, "grow.tlk")


# ---------------------------------------------------------------------------
# 1. go tool pprof on timerleak's profiles

def case_raw():
    """-raw reads the profile with no warning; header, types, sample, labels, mappings."""
    sizes = objsize()
    trace, out = leak_ticker(50)
    prof = profile(trace, "leak_ticker.pb.gz")
    line, text = creating_line("testdata/leak_ticker.c", "handle_request", "gt_ticker_new(")
    p = pprof("-raw", prof)
    expect("go tool pprof -raw: stderr", "", p.stderr)
    raw = parse_raw(p.stdout)
    head = raw["head"]
    check("PeriodType: space bytes" in head, "no 'PeriodType: space bytes' in -raw: %r" % head)
    check("Period: 1" in head, "no 'Period: 1' in -raw: %r" % head)
    check(any(h.startswith("Comment: timerleak: timers of ") and h.rstrip().find(
        os.path.join(TESTDATA, "leak_ticker")) >= 0 for h in head),
        "no comment naming the program in -raw: %r" % head)
    check(any(h.startswith("Time: ") for h in head), "no Time in -raw: %r" % head)
    expect("sample types", SAMPLE_TYPES, raw["types"])
    s = sample_of(raw, "handle_request")
    n = int(out["tickers_created"])
    expect("handle_request's sample values", [n, n * sizes["ticker"], n, n * sizes["ticker"]],
           s["values"])
    expect("handle_request's labels", {"timer_kind": "ticker", "pattern": "never-stopped-ticker"},
           s["labels"])
    check("age" in s["num_labels"] and s["num_labels"]["age"].endswith(" nanoseconds"),
          "no numeric age label in nanoseconds: %r" % s["num_labels"])
    loc = raw["locations"][s["locs"][0]]
    expect("leaf frame", ("handle_request", os.path.join(SOURCE, "testdata/leak_ticker.c"), line),
           loc["lines"][0])
    names = [(raw["locations"][l]["lines"] or [("?",)])[-1][0] for l in s["locs"]]
    check(names[:2] == ["handle_request", "worker"], "stack leaf first: %r" % names)
    expect("samples in the profile", 1, len(raw["samples"]))
    check(raw["mappings"], "no mappings")
    for m in raw["mappings"]:
        check(m.endswith("[FN][FL][LN][IN]"), "mapping not marked symbolized: " + m)
    # Mappings name the object, not its path: pprof would open the path to
    # disassemble it, which it cannot do for a C binary (pprof_out.c).
    check(any(" leak_ticker " in m and re.search(r" [0-9a-f]{40} ", m)
              for m in raw["mappings"]),
          "no mapping of the program with its build-id: %r" % raw["mappings"])
    # The other pprof commands read it without a word on stderr either.
    for args in (["-top"], ["-traces"], ["-tags"], ["-peek", "handle_request"],
                 ["-list", "handle_request"], ["-dot"]):
        p = pprof(*(args + [prof]))
        expect("go tool pprof %s: stderr" % " ".join(args), "", p.stderr)


def case_agree():
    """inuse at the end is what the JSON report says is live, over every
    site: one rule counts both (a timer whose events came before its
    create is not live until the create comes; one freed before it, not
    at all)."""
    gen = os.path.join(BUILD, "tests", "analyzer_gen")
    traces = []
    for scenario in ("late_create", "lost", "forever", "unknown", "callbacks"):
        trace = os.path.join(WORK, scenario + ".tlk")
        must([gen, scenario, trace])
        traces.append(trace)
    traces.append(demo_service()[0])
    for trace in traces:
        name = os.path.basename(trace)
        rep = json.loads(report(trace, "--json").stdout)
        raw = parse_raw(pprof("-raw", profile(trace, name + ".pb.gz")).stdout)
        for i, key in ((2, "live_end"), (3, "live_bytes_end")):
            expect("%s: %s summed against the JSON's %s" % (name, INDEXES[i], key),
                   rep["trace"][key], sum(s["values"][i] for s in raw["samples"]))


def case_inline():
    """A call inlined into its caller is one location with two lines, the inlined
    function first, then the function it was inlined into, each at its call's line;
    and pprof shows both in the stack."""
    src = "tests/pprof_prog.c"
    out = vals(record("inline.tlk", [PROG, "inline", 5]))
    expect("pprof_prog inline", "5", out.get("inline"))
    prof = profile(os.path.join(WORK, "inline.tlk"), "inline.pb.gz")
    site_line, _ = creating_line(src, "inline_site", "gt_ticker_new(")
    helper_line, _ = creating_line(src, "inline_helper", "inline_site()")
    outer_line, _ = creating_line(src, "inline_outer", "inline_helper(")
    path = os.path.join(SOURCE, src)
    raw = parse_raw(pprof("-raw", prof).stdout)
    s = sample_of(raw, "inline_site")
    size = objsize()["ticker"]
    expect("inline_site's values", [5, 5 * size, 5, 5 * size], s["values"])
    locs = [raw["locations"][l]["lines"] for l in s["locs"]]
    expect("the leaf location", [("inline_site", path, site_line)], locs[0] if locs else None)
    expect("the location of the inlined call (innermost first)",
           [("inline_helper", path, helper_line), ("inline_outer", path, outer_line)],
           locs[1] if len(locs) > 1 else None)
    out = pprof("-traces", prof).stdout
    frames = [m.group(1) for m in (re.match(r"^\s+(?:\S+\s+)?(\w+)(?: \(inline\))?\s*$", l)
                                   for l in out.split("\n") if ":" not in l) if m]
    expect("-traces: the stack's first frames", ["inline_site", "inline_helper", "inline_outer"],
           frames[:3])
    head, rows, text = top("-sample_index=inuse_objects", prof)
    cum = {n: c for n, _, c in rows}
    check(cum.get("inline_helper (inline)") == 5, "-top: no 'inline_helper (inline)':\n" + text)
    check(cum.get("inline_outer") == 5, "-top: no inline_outer:\n" + text)


def case_split():
    """One call site on one source line that the compiler split into two
    call instructions: two stacks in the trace, one site in the report and
    in the profile."""
    out = vals(record("split.tlk", [PROG, "split", 10]))
    expect("pprof_prog split", "10", out.get("split"))
    trace = os.path.join(WORK, "split.tlk")
    ev = run([REPORT, "--events", trace]).stdout
    stacks = set(re.findall(r" create id=\d+ kind=ticker stack=(\d+)", ev))
    check(len(stacks) >= 2, "the two calls should make two stacks, made %d" % len(stacks))
    rep = json.loads(run([REPORT, "--json", trace]).stdout)
    at = [f for f in rep["findings"] if f["site"] and f["site"][0]["function"] == "split_outer"]
    expect("findings at split_outer (pattern, count)", [("never-stopped-ticker", 10)],
           [(f["pattern"], f["count"]) for f in at])
    prof = profile(trace, "split.pb.gz")
    raw = parse_raw(pprof("-raw", prof).stdout)
    s = sample_of(raw, "split_outer")
    size = objsize()["ticker"]
    expect("split_outer's values (one sample)", [10, 10 * size, 10, 10 * size], s["values"])


def case_file():
    """pprof's "File:" names the program, also when every timer is created
    in a library it loaded (the first mapping is the executable's)."""
    prog = os.path.join(E["TL_BUILD"], "tests", "preload_dlopen")
    plugin = os.path.join(E["TL_BUILD"], "tests", "libpreload_plugin.so")
    record("plugin.tlk", [prog, "plugin", plugin, "-r", 1, "-n", 5])
    prof = profile(os.path.join(WORK, "plugin.tlk"), "plugin.pb.gz")
    head, rows, out = top("-sample_index=alloc_objects", prof)
    expect("File:", "preload_dlopen", header_value(head, "File"))
    check(any(r[0].startswith("plugin_") for r in rows), "no plugin site in -top:\n" + out)


def check_top(prof, index, func, want_flat, want_total):
    """-top -sample_index=INDEX and -INDEX: func first with its flat value."""
    head, rows, out = top("-sample_index=" + index, *unit_args(index), prof)
    head2, rows2, out2 = top("-" + index, *unit_args(index), prof)
    expect("-%s and -sample_index=%s give the same -top" % (index, index), out, out2)
    expect("Type", index, header_value(head, "Type"))
    if not check(rows, "-top -sample_index=%s: no rows:\n%s" % (index, out)):
        return
    expect("-top -sample_index=%s: first row" % index, (func, want_flat), rows[0][:2])
    others = {k: v for k, v in flat_rows(rows).items() if k != func}
    expect("-top -sample_index=%s: other rows with a flat value" % index, {}, others)
    m = re.search(r"Showing nodes accounting for (\S+), ", out)
    if check(m, "no 'Showing nodes accounting for' in:\n" + out):
        expect("-sample_index=%s total" % index, want_total, number(m.group(1)))


def case_top(index):
    sizes = objsize()
    # leak_ticker: handle_request's tickers, all still live at the end.
    trace, out = leak_ticker(50)
    prof = profile(trace, "leak_ticker.pb.gz")
    n = int(out["tickers_created"])
    want = {"alloc_objects": n, "alloc_space": n * sizes["ticker"], "inuse_objects": n,
            "inuse_space": n * sizes["ticker"]}[index]
    check_top(prof, index, "handle_request", want, want)
    # leak_after_loop: what its own counters say it holds at the end.
    trace, out = leak_after_loop(2000)
    prof = profile(trace, "leak_after_loop.pb.gz")
    created, pending = int(out["afters_created"]), int(out["pending_timers"])
    want = {"alloc_objects": created, "alloc_space": created * sizes["after"],
            "inuse_objects": pending, "inuse_space": int(out["pending_bytes"])}[index]
    check_top(prof, index, "wait_message", want, want)


def case_list():
    """-list FUNC shows the creating call's line with the site's values, and only it."""
    cases = []
    trace, out = leak_ticker(50)
    cases.append((profile(trace, "leak_ticker.pb.gz"), "testdata/leak_ticker.c",
                  "handle_request", "gt_ticker_new(", int(out["tickers_created"])))
    trace, out = leak_after_loop(1000)
    cases.append((profile(trace, "leak_after_loop.pb.gz"), "testdata/leak_after_loop.c",
                  "wait_message", "gt_after(", int(out["pending_timers"])))
    for prof, src, func, call, n in cases:
        line, text = creating_line(src, func, call)
        out = pprof("-list", "^%s$" % func, "-sample_index=inuse_objects", prof).stdout
        check(re.search(r"^ROUTINE =+ %s in %s$" % (re.escape(func),
                                                  re.escape(os.path.join(SOURCE, src))),
                        out, re.M), "-list %s: no ROUTINE line for %s:\n%s" % (func, src, out))
        rows = re.findall(r"^\s+(\S+)\s+(\S+)\s+(\d+):(.*)$", out, re.M)
        check(len(rows) > 3, "-list %s: no source lines (is the source readable?):\n%s"
              % (func, out))
        hot = [(int(l), f, c, t.strip()) for f, c, l, t in rows if f != "." or c != "."]
        expect("-list %s: the lines with values" % func, [(line, str(n), str(n), text)], hot)


def case_traces():
    """-traces shows each site's timer_kind and pattern labels over its stack."""
    sites = []
    trace, _ = leak_ticker(20)
    sites.append((profile(trace, "leak_ticker.pb.gz"), "ticker", "never-stopped-ticker",
                  ["handle_request", "worker"]))
    trace, _ = leak_after_loop(500)
    sites.append((profile(trace, "leak_after_loop.pb.gz"), "after", "after-in-loop",
                  ["wait_message", "consumer"]))
    for prof, kind, pattern, stack in sites:
        out = pprof("-traces", prof).stdout
        blocks = [b for b in out.split("-----------+") if stack[0] in b]
        if not check(len(blocks) == 1, "-traces: one trace through %s expected:\n%s"
                     % (stack[0], out)):
            continue
        b = blocks[0]
        check(re.search(r"^\s*timer_kind:\s+%s\s*$" % kind, b, re.M),
              "-traces: no 'timer_kind: %s' in:\n%s" % (kind, b))
        check(re.search(r"^\s*pattern:\s+%s\s*$" % pattern, b, re.M),
              "-traces: no 'pattern: %s' in:\n%s" % (pattern, b))
        frames = [m.group(1) for m in (re.match(r"^\s+(?:\S+\s+)?(\w+)(?: \(inline\))?\s*$", l)
                                       for l in b.split("\n") if ":" not in l) if m]
        check(frames[:2] == stack, "-traces: stack %r, expected it to begin %r" % (frames, stack))
        tags = pprof("-tags", prof).stdout
        check(re.search(r"^\s*timer_kind: Total", tags, re.M) and
              re.search(r"^\s*pattern: Total", tags, re.M),
              "-tags: no timer_kind and pattern tags:\n" + tags)


def case_tagfocus():
    """-tagfocus=timer_kind=KIND keeps that kind's sites only (demo_service mixes them)."""
    trace, out = demo_service(1)
    prof = profile(trace, "demo.pb.gz")
    streams, events = int(out["streams"]), int(out["events"])
    conns, requests = int(out["connections"]), int(out["requests"])
    want = {
        # every stream's progress ticker, and the one housekeeping ticker
        "ticker": {"stream_progress": streams, "housekeeping_ticker": 1},
        # one gt_after() per event, and one more that finds the queue closed
        "after": {"next_event": events + 1},
        "timerfd": {"conn_open": conns},
        "afterfunc": {"handle_request": requests},
    }
    for kind, sites in want.items():
        head, rows, text = top("-sample_index=alloc_objects",
                               "-tagfocus=timer_kind=^%s$" % kind, prof)
        expect("-tagfocus=timer_kind=%s: flat rows" % kind, sites, flat_rows(rows))
        check("tagfocus=timer_kind=^%s$" % kind in text, "no active filter shown:\n" + text)
    head, rows, _ = top("-sample_index=alloc_objects", "-tagignore=timer_kind=^ticker$", prof)
    got = flat_rows(rows)
    check("stream_progress" not in got and "housekeeping_ticker" not in got and
          "next_event" in got, "-tagignore=timer_kind=ticker: %r" % got)
    # The pattern label focuses the same way.
    head, rows, _ = top("-sample_index=inuse_objects", "-tagfocus=pattern=^after-in-loop$", prof)
    expect("-tagfocus=pattern=after-in-loop", ["next_event"], list(flat_rows(rows)))


def snapshot_profiles(trace):
    early = profile(trace, "early.pb.gz", "--at", "snapshot:1")
    late = profile(trace, "late.pb.gz", "--at", "snapshot:2")
    return early, late


def case_base():
    """-base snapshot:1 against snapshot:2 shows only the site that grew, by its growth."""
    sizes = objsize()
    trace = grow(steady=10, a=5, b=20, c=7)
    early, late = snapshot_profiles(trace)
    end = profile(trace, "end.pb.gz")
    for prof, want in ((early, {"steady_timer": 10, "grow_ticker": 5}),
                       (late, {"steady_timer": 10, "grow_ticker": 25}),
                       (end, {"steady_timer": 10, "grow_ticker": 32})):
        head, rows, _ = top("-sample_index=inuse_objects", prof)
        expect("inuse_objects in " + os.path.basename(prof), want, flat_rows(rows))
    for index, want in (("inuse_objects", 20), ("inuse_space", 20 * sizes["ticker"])):
        head, rows, out = top("-sample_index=" + index, *unit_args(index), "-base", early, late)
        expect("-base early late -sample_index=%s: flat rows" % index, {"grow_ticker": want},
               flat_rows(rows))
    # pprof's default index is inuse_space, as for a Go heap profile.
    head, rows, out = top("-unit=B", "-base", early, late)
    expect("-base early late (default index)", {"grow_ticker": 20 * sizes["ticker"]},
           flat_rows(rows))
    expect("default sample index", "inuse_space", header_value(head, "Type"))
    # Each profile says when it was taken.
    times = []
    for prof in (early, late, end):
        m = re.search(r"in use at ([\d.]+) s", pprof("-raw", prof).stdout)
        times.append(float(m.group(1)) if m else None)
    check(None not in times and times[0] <= times[1] <= times[2],
          "in-use times of snapshot:1, snapshot:2, end: %r" % times)
    # There is no third snapshot.
    p = run([REPORT, "--pprof", os.path.join(WORK, "x.pb.gz"), "--at", "snapshot:3", trace])
    expect("--at snapshot:3 of 2: exit status", 2, p.returncode)
    check("the trace has 2 snapshots" in p.stderr, "--at snapshot:3: " + p.stderr)


def case_base_signal():
    """The same with snapshots from `kill -USR2` while demo_service runs: only the two
    growing leaks grow (beside requests in flight at either moment)."""
    trace = os.path.join(WORK, "demo.tlk")
    env = clean_env(LD_PRELOAD=PRELOAD, TIMERLEAK_OUTPUT=trace)
    proc = subprocess.Popen([td("demo_service"), "-t", "2"], env=env, cwd=WORK,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Signal only once the recorder catches SIGUSR2: before, it would kill.
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with open("/proc/%d/status" % proc.pid) as f:
                    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", f.read(), re.M).group(1), 16)
            except (OSError, AttributeError):
                caught = 0
            if caught & (1 << (signal.SIGUSR2 - 1)):
                break
            time.sleep(0.02)
        else:
            raise Fatal("demo_service never caught SIGUSR2")
        time.sleep(0.4)
        os.kill(proc.pid, signal.SIGUSR2)
        time.sleep(0.8)
        os.kill(proc.pid, signal.SIGUSR2)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    require(proc.returncode == 0, "demo_service: exit status %d: %s" % (proc.returncode, err))
    workers = 4  # demo_service's default -w
    early, late = snapshot_profiles(trace)
    for index in ("inuse_objects", "inuse_space"):
        head, rows, out = top("-sample_index=" + index, *unit_args(index), "-base", early, late)
        flat = flat_rows(rows)
        names = [n for n, f, _ in rows if f > 0]
        check(names[:2] == ["next_event", "stream_progress"],
              "-base -sample_index=%s: the growing sites first: %r\n%s" % (index, names, out))
        check(flat.get("next_event", 0) > 0 and flat.get("stream_progress", 0) > 0,
              "-base -sample_index=%s: no growth: %r" % (index, flat))
        # In flight at either moment: up to one deadline timer and one callback
        # timer per worker (handle_request), and a connection being replaced
        # (conn_open closes a worker's timerfd, then opens the next).
        limit = 2 * workers * (1 if index == "inuse_objects" else 1024)
        noise = {k: v for k, v in flat.items() if k not in ("next_event", "stream_progress")}
        check(set(noise) <= {"handle_request", "conn_open"} and
              all(abs(v) <= limit for v in noise.values()),
              "-base -sample_index=%s: sites other than the growing ones: %r" % (index, noise))


def case_proto():
    """-proto writes the profile back out; it reads the same: -raw and -top alike."""
    for trace, name in (leak_ticker(30)[0], "leak_ticker"), (demo_service(1)[0], "demo"):
        prof = profile(trace, name + ".pb.gz")
        p = pprof("-proto", prof, binary=True)
        rt = os.path.join(WORK, name + ".rt.pb.gz")
        with open(rt, "wb") as f:
            f.write(p.stdout)
        check(p.stdout[:2] == b"\x1f\x8b", "-proto output is not gzip'ed")
        expect("%s: -raw after -proto" % name, pprof("-raw", prof).stdout, pprof("-raw", rt).stdout)
        for index in INDEXES:
            a = top("-sample_index=" + index, prof)[2]
            b = top("-sample_index=" + index, rt)[2]
            expect("%s: -top -sample_index=%s after -proto" % (name, index), a, b)


def case_deterministic():
    """The same trace gives byte-identical profiles (and timelines), twice."""
    trace = grow()
    demo, _ = demo_service(1)
    for tr, opts in ((trace, []), (trace, ["--at", "snapshot:1"]), (demo, []),
                     (demo, ["--at", "0.5"])):
        outs = []
        for i in (1, 2):
            p = os.path.join(WORK, "det%d.pb.gz" % i)
            t = os.path.join(WORK, "det%d.json" % i)
            report(tr, "--pprof", p, "--timeline", t, *opts)
            with open(p, "rb") as f, open(t, "rb") as g:
                outs.append((f.read(), g.read()))
        what = "%s %s" % (os.path.basename(tr), " ".join(opts))
        check(outs[0][0] == outs[1][0], "%s: the two profiles differ" % what)
        check(outs[0][1] == outs[1][1], "%s: the two timelines differ" % what)
        gz = outs[0][0]
        check(gz[:2] == b"\x1f\x8b" and gz[4:8] == b"\0\0\0\0",
              "%s: gzip header with a time in it: %r" % (what, gz[:10]))
        check(gzip.decompress(gz), "%s: empty profile" % what)
    # --at end is what a profile without --at holds.
    for tr in (trace, demo):
        a, b = profile(tr, "noat.pb.gz"), profile(tr, "atend.pb.gz", "--at", "end")
        with open(a, "rb") as f, open(b, "rb") as g:
            check(f.read() == g.read(), "%s: --at end differs from no --at" % tr)


# ---------------------------------------------------------------------------
# 2. Go's own heap profile beside timerleak's

def go_profile():
    """Build tests/pprof_go and write its heap profile (runtime/pprof, MemProfileRate=1)."""
    exe = os.path.join(WORK, "pprof_go")
    must([GO, "build", "-o", exe, "."], cwd=GO_SRC, timeout=300)
    prof = os.path.join(WORK, "go.pb.gz")
    out = vals(must([exe, "-n", 50, "-a", 200, prof]).stdout)
    expect("pprof_go", {"tickers": "50", "afters": "200"}, out)
    return prof


def case_go_heap_raw():
    """-raw: the same period type and the same four sample types, in the same order."""
    gop = go_profile()
    trace, _ = leak_ticker(50)
    tlp = profile(trace, "leak_ticker.pb.gz")
    raws = {}
    for name, prof in (("go", gop), ("timerleak", tlp)):
        p = pprof("-raw", prof)
        expect("%s -raw: stderr" % name, "", p.stderr)
        raws[name] = parse_raw(p.stdout)
    g, t = raws["go"], raws["timerleak"]
    expect("Go's heap profile's sample types (the reference)", SAMPLE_TYPES, g["types"])
    expect("sample types: timerleak's against Go's", g["types"], t["types"])
    for key in ("PeriodType", "Period"):
        gl = [h for h in g["head"] if h.startswith(key + ":")]
        tl = [h for h in t["head"] if h.startswith(key + ":")]
        expect("%s line: timerleak's against Go's" % key, gl, tl)
    check("PeriodType: space bytes" in g["head"], "Go's -raw: %r" % g["head"])
    check(any(leaf(g, s) == "time.NewTicker" for s in g["samples"]),
          "Go's profile has no time.NewTicker sample")


def case_go_heap_top():
    """-top under each sample index, and its -INDEX flag, reads both alike."""
    gop = go_profile()
    trace, out = leak_ticker(50)
    tlp = profile(trace, "leak_ticker.pb.gz")
    for prof, func, name in ((gop, "main.leakTicker", "go"), (tlp, "handle_request", "timerleak")):
        head, rows, text = top("-unit=B", prof)
        expect("%s: default index" % name, "inuse_space", header_value(head, "Type"))
        for index in INDEXES:
            for args in (["-sample_index=" + index], ["-" + index]):
                head, rows, text = top(*args, *unit_args(index), "-cum", prof)
                expect("%s %s: Type" % (name, args[0]), index, header_value(head, "Type"))
                cum = {n: c for n, _, c in rows}
                # Go: the ticker, its channel and its runtime timer; timerleak: one
                # timer object each.
                check(cum.get(func, 0) >= 50 if index.endswith("objects") else cum.get(func, 0) > 0,
                      "%s %s: %s not shown with its value:\n%s" % (name, args[0], func, text))
                check(re.search(r"Total samples = \S+", text) or "Showing nodes" in text,
                      "%s %s: no totals:\n%s" % (name, args[0], text))


# ---------------------------------------------------------------------------
# 3. The timeline

def timeline(trace, name):
    path = os.path.join(WORK, name)
    rep = report_json(trace, "--timeline", path)
    with open(path) as f:
        text = f.read()
    try:
        tl = json.loads(text)
    except ValueError as e:
        raise Fatal("%s is not valid JSON: %s" % (name, e))
    require(isinstance(tl, dict) and isinstance(tl.get("traceEvents"), list),
            "%s: no traceEvents list" % name)
    for ev in tl["traceEvents"]:
        require(isinstance(ev, dict) and ev.get("ph") in ("M", "C", "i") and "pid" in ev,
                "%s: odd event %r" % (name, ev))
    return rep, tl["traceEvents"]


def case_timeline_counters():
    """leak_ticker: a counter series for its site, ending at the live count at the end."""
    trace, out = leak_ticker(50)
    rep, evs = timeline(trace, "leak_ticker.json")
    line, _ = creating_line("testdata/leak_ticker.c", "handle_request", "gt_ticker_new(")
    pid = rep["process"]["pid"]
    meta = [e for e in evs if e["ph"] == "M" and e["name"] == "process_name"]
    check(len(meta) == 1 and os.path.join(TESTDATA, "leak_ticker") in meta[0]["args"]["name"]
          and "(pid %d)" % pid in meta[0]["args"]["name"], "process_name: %r" % meta)
    name = "handle_request leak_ticker.c:%d (ticker)" % line
    series = [e for e in evs if e["ph"] == "C" and e["name"] == name]
    names = sorted({e["name"] for e in evs if e["ph"] == "C"})
    require(series, "no counter series %r; there are %r" % (name, names))
    ts = [e["ts"] for e in series]
    check(ts == sorted(ts) and len(set(ts)) == len(ts), "the series' times are not increasing")
    check(all(e["pid"] == pid for e in series), "counter events of another pid")
    f = [x for x in rep["findings"] if x["pattern"] == "never-stopped-ticker"]
    require(len(f) == 1, "report: one never-stopped-ticker finding expected: %r" % rep["findings"])
    live_end = f[0]["stats"]["live_end"]
    expect("live at the end (report)", int(out["tickers_created"]), live_end)
    expect("the series' final value", live_end, series[-1]["args"]["live"])
    expect("the series' peak", f[0]["stats"]["peak_live"], max(e["args"]["live"] for e in series))
    check(series[0]["args"]["live"] < live_end, "the series does not show the growth")
    check(ts[-1] <= rep["process"]["duration_s"] * 1e6 + 1,
          "the series runs past the end of the trace: %s > %s us"
          % (ts[-1], rep["process"]["duration_s"] * 1e6))
    inst = [e for e in evs if e["ph"] == "i" and e["name"] == f[0]["title"]]
    check(len(inst) == 1 and inst[0]["args"].get("severity") == "leak" and
          inst[0]["args"].get("fix") == f[0]["fix"], "finding instant: %r" % inst)


def case_timeline_resets():
    """leak_reset_nodrain: an instant per reset that found a value waiting, as many as the
    report counts (and the program), and one for the finding."""
    out = vals(record("nodrain.tlk", [td("leak_reset_nodrain"), "-n", 40]))
    trace = os.path.join(WORK, "nodrain.tlk")
    rep, evs = timeline(trace, "nodrain.json")
    f = [x for x in rep["findings"] if x["pattern"] == "reset-without-drain"]
    require(len(f) == 1, "report: one reset-without-drain finding expected: %r" % rep["findings"])
    count = f[0]["count"]
    expect("resets with a value pending: report against the program",
           int(out["resets_with_value_pending"]), count)
    line, _ = creating_line("testdata/leak_reset_nodrain.c", "watchdog_open", "gt_timer_new(")
    resets = [e for e in evs if e["ph"] == "i" and e["name"] == "reset without drain"
              and "timer" in e.get("args", {})]
    expect("reset-without-drain instants", count, len(resets))
    expect("the instants' timer", {"watchdog_open leak_reset_nodrain.c:%d (timer)" % line},
           {e["args"]["timer"] for e in resets})
    ts = [e["ts"] for e in resets]
    check(ts == sorted(ts), "the instants are not in time order")
    findings = [e for e in evs if e["ph"] == "i" and "severity" in e.get("args", {})]
    expect("finding instants", [(x["title"], x["severity"]) for x in rep["findings"]],
           [(e["name"], e["args"]["severity"]) for e in findings])
    series = [e for e in evs if e["ph"] == "C" and e["name"].startswith("watchdog_open ")]
    check(series, "no counter series for the watchdog timer")


# ---------------------------------------------------------------------------
# 4. The wrapper

def wrapper_tree(tree):
    """(the timerleak command, the libtimerleak.so it must preload)."""
    if tree == "build":
        return WRAPPER, os.path.realpath(PRELOAD)
    prefix = os.path.join(WORK, "prefix")
    cmake = shutil.which("cmake") or "cmake"
    must([cmake, "--install", BUILD, "--prefix", prefix])
    for sub in ("bin/timerleak", "bin/timerleak-report"):
        require(os.access(os.path.join(prefix, sub), os.X_OK), "not installed: " + sub)
    libs = [os.path.join(d, "libtimerleak.so") for d in ("lib", "lib64")
            if os.path.isfile(os.path.join(prefix, d, "libtimerleak.so"))]
    require(libs, "not installed: lib/libtimerleak.so")
    return os.path.join(prefix, "bin/timerleak"), os.path.realpath(os.path.join(prefix, libs[0]))


def wrapper_env():
    """No build directory on PATH; the wrapper's temporary directory watched."""
    tmp = os.path.join(WORK, "tmp")
    os.makedirs(tmp, exist_ok=True)
    return clean_env(PATH="/usr/local/bin:/usr/bin:/bin", TMPDIR=tmp)


def check_tmp_clean():
    left = os.listdir(os.path.join(WORK, "tmp"))
    expect("left in the wrapper's TMPDIR", [], left)


def wrap(wrapper, args, **kw):
    return run([wrapper] + list(args), env=wrapper_env(), **kw)


def report_header(out, trace):
    """'timerleak report: TRACE — EXE (pid N)' -> (exe, pid)."""
    m = re.search(r"^timerleak report: %s \u2014 (\S+) \(pid (\d+)\)" % re.escape(trace), out, re.M)
    return (m.group(1), int(m.group(2))) if m else (None, None)


def case_wrapper_report(tree):
    w, lib = wrapper_tree(tree)
    # It preloads the recorder of its own tree.
    p = wrap(w, ["run", "-o", "pre.tlk", "--", PROG, "preloaded"])
    expect("exit status", 0, p.returncode)
    expect("the recorder preloaded", lib, os.path.realpath(vals(p.stdout).get("preloaded", "none")))
    # A leak: the trace kept, its report printed.
    p = wrap(w, ["run", "-o", "lt.tlk", "--", td("leak_ticker"), "-n", 20, "-l", 20])
    expect("exit status", 0, p.returncode)
    path = os.path.join(WORK, "lt.tlk")
    if check(os.path.isfile(path), "no trace lt.tlk"):
        expect("trace mode", 0o600, stat.S_IMODE(os.stat(path).st_mode))
    check("timerleak: trace written to lt.tlk" in p.stderr, "stderr: " + p.stderr)
    check("tickers_created=20" in p.stdout, "the program's output is missing:\n" + p.stdout)
    exe, pid = report_header(p.stdout, "lt.tlk")
    expect("report's program", td("leak_ticker"), exe)
    check(re.search(r"^\[1\] LEAK\s+never-stopped ticker: 20 tickers still running", p.stdout, re.M),
          "no never-stopped ticker finding:\n" + p.stdout)
    check(re.search(r"created at\n\s+handle_request\s", p.stdout), "site not handle_request")
    # timerleak report: the analyzer, with its options.
    p = wrap(w, ["report", "--json", "--pprof", "lt.pb.gz", "lt.tlk"])
    expect("timerleak report: exit status", 0, p.returncode)
    try:
        rep = json.loads(p.stdout)
        expect("JSON findings", [("never-stopped-ticker", 20)],
               [(f["pattern"], f["count"]) for f in rep["findings"]])
    except ValueError:
        fail("timerleak report --json: not JSON:\n" + p.stdout)
    if check(os.path.isfile(os.path.join(WORK, "lt.pb.gz")), "no profile written"):
        head, rows, _ = top("-sample_index=inuse_objects", os.path.join(WORK, "lt.pb.gz"))
        expect("the profile's top", {"handle_request": 20}, flat_rows(rows))
    p = wrap(w, ["report", "--fail-on=leak", "lt.tlk"])
    expect("timerleak report --fail-on=leak: exit status", 1, p.returncode)
    # No -o: timerleak.NAME.PID.tlk in the current directory.
    p = wrap(w, ["run", "--", td("leak_ticker"), "-n", 3, "-l", 10])
    expect("exit status", 0, p.returncode)
    m = re.search(r"^timerleak report: (timerleak\.leak_ticker\.(\d+)\.tlk) ", p.stdout, re.M)
    if check(m, "no report of timerleak.leak_ticker.PID.tlk:\n" + p.stdout):
        check(os.path.isfile(os.path.join(WORK, m.group(1))), "no " + m.group(1))
        expect("pid in the name", report_header(p.stdout, m.group(1))[1], int(m.group(2)))
    check_tmp_clean()


def case_wrapper_exit_status(tree):
    w, _ = wrapper_tree(tree)
    cases = [
        ([PROG, "exit", 3, 5], 3, "exit(3)"),
        ([PROG, "exit", 0, 2], 0, "exit(0)"),
        ([td("leak_ticker"), "-n", "many"], 2, "a usage error"),
        ([PROG, "signal", 15], 128 + 15, "SIGTERM"),
        ([os.path.join(WORK, "no-such-program")], 127, "a command not found"),
    ]
    for i, (cmd, want, what) in enumerate(cases):
        trace = "st%d.tlk" % i
        p = wrap(w, ["run", "-o", trace, "--"] + cmd)
        expect("exit status of %s" % what, want, p.returncode)
    # The command's trace is reported whatever its exit status.
    p = wrap(w, ["run", "-o", "st.tlk", "--", PROG, "exit", 4, 5])
    expect("exit status", 4, p.returncode)
    check(re.search(r"(never-stopped|long-lived) ticker: 5 tickers", p.stdout),
          "no report of the failed command's trace:\n" + p.stdout + p.stderr)
    check_tmp_clean()


def case_wrapper_stdin(tree):
    w, _ = wrapper_tree(tree)
    lines = ["alpha", "beta", "gamma"]
    p = wrap(w, ["run", "-o", "in.tlk", "--", PROG, "stdin"],
             input=("\n".join(lines) + "\n").encode())
    expect("exit status", 0, p.returncode)
    got = re.findall(r"^got (.*)$", p.stdout, re.M)
    expect("lines the command read from stdin", lines, got)
    expect("lines=", "3", vals(p.stdout).get("lines"))
    check(re.search(r"^\s+timers\s+3 created: 3 after$", p.stdout, re.M),
          "the report does not count the 3 timers:\n" + p.stdout)
    # An empty stdin is empty for the command too; and a plain filter.
    p = wrap(w, ["run", "-o", "empty.tlk", "--", PROG, "stdin"], input=b"")
    expect("lines= with empty stdin", "0", vals(p.stdout).get("lines"))
    data = "".join("line %d\n" % i for i in range(2000))
    p = wrap(w, ["run", "-o", "cat.tlk", "--", "cat"], input=data.encode())
    expect("exit status of cat", 0, p.returncode)
    check(p.stdout.startswith(data), "cat did not get its stdin whole")
    check_tmp_clean()


def case_wrapper_children(tree):
    w, _ = wrapper_tree(tree)
    p = wrap(w, ["run", "-o", "fam.tlk", "--", PROG, "spawn", 2, td("leak_ticker"), "-n", 10,
                 "-l", 20])
    expect("exit status", 0, p.returncode)
    kids = [int(x) for x in re.findall(r"^child pid=(\d+)$", p.stdout, re.M)]
    expect("children started", 2, len(kids))
    exe, pid = report_header(p.stdout, "fam.tlk")
    expect("the command's report", PROG, exe)
    check(re.search(r"^\s+timers\s+1 created: 1 ticker$", p.stdout, re.M) and
          re.search(r"created at\n\s+spawn_ticker\s", p.stdout),
          "the command's own ticker is not in its report:\n" + p.stdout)
    for kid in kids:
        name = "fam.leak_ticker.%d.tlk" % kid
        check(os.path.isfile(os.path.join(WORK, name)), "no child trace " + name)
        i = p.stdout.find("timerleak: another process traced in %s\n" % name)
        if check(i >= 0, "no report announced for %s:\n%s" % (name, p.stdout)):
            rest = p.stdout[i:]
            expect("child report's program and pid", (td("leak_ticker"), kid),
                   report_header(rest, name))
            check(re.search(r"(never-stopped|long-lived) ticker: 10 tickers", rest),
                  "the child's report has no finding:\n" + rest)
    extra = sorted(f for f in os.listdir(WORK) if f.endswith(".tlk") and f.startswith("fam.")
                   and f not in ["fam.tlk"] + ["fam.leak_ticker.%d.tlk" % k for k in kids])
    for f in extra:  # e.g. a forked child's own trace before its exec: reported too
        check("another process traced in %s" % f in p.stdout, "child trace %s not reported" % f)
    # A failing child makes the command fail: its status comes through.
    p = wrap(w, ["run", "-o", "bad.tlk", "--", PROG, "spawn", 1, td("leak_ticker"), "-n", "x"])
    expect("exit status with a failing child", 1, p.returncode)
    check_tmp_clean()


def case_wrapper_exec(tree):
    """A command that execs another program (a start script ending in `exec
    service`): FILE holds the trace of the program the command's process ran
    last, the service, and the script's own trace before the exec goes beside
    it as FILE.NAME.PID.tlk, as `timerleak help` says, whatever the two
    programs are called."""
    w, _ = wrapper_tree(tree)
    shell = os.path.basename(os.path.realpath("/bin/sh"))
    for name in ("aaa_service", "zzz_service"):
        exe = os.path.join(WORK, name)
        shutil.copy(PROG, exe)
        script = os.path.join(WORK, "start_%s.sh" % name)
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho starting\nexec %s exit 0 5\n" % exe)
        os.chmod(script, 0o755)
        out = "svc_%s.tlk" % name
        p = wrap(w, ["run", "-o", out, "--", script])
        expect("%s: exit status" % name, 0, p.returncode)
        exe_of, pid = report_header(p.stdout, out)
        expect("%s: the program in %s (the exec'd service)" % (name, out), name,
               os.path.basename(exe_of))
        check(re.search(r"(never-stopped|long-lived) ticker: 5 tickers", p.stdout),
              "%s: the service's report has no finding" % name)
        kid = "svc_%s.%s.%s.tlk" % (name, shell, pid)
        check(os.path.isfile(os.path.join(WORK, kid)),
              "%s: no trace %s for the script before its exec; there are %r"
              % (name, kid, sorted(f for f in os.listdir(WORK) if f.endswith(".tlk"))))
        check("another process traced in %s" % kid in p.stdout,
              "%s: %s not reported:\n%s" % (name, kid, p.stdout))
    # The two images ran within the same few milliseconds, or the script's
    # trace is the newer file: the service is still the last program, as
    # its process record says, whatever the files' times.
    exe = os.path.join(WORK, "svc_late")
    shutil.copy(PROG, exe)
    script = os.path.join(WORK, "start_late.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexec /bin/sh -c 'touch -d \"+1 hour\" \"${TIMERLEAK_OUTPUT%%/*}\"/*.$$.tlk; "
                "exec %s exit 0 5'\n" % exe)
    os.chmod(script, 0o755)
    p = wrap(w, ["run", "-o", "late.tlk", "--", script])
    expect("late: exit status", 0, p.returncode)
    exe_of, _ = report_header(p.stdout, "late.tlk")
    expect("late: the program in late.tlk (the exec'd service)", "svc_late",
           os.path.basename(exe_of or ""))
    check_tmp_clean()


def case_wrapper_cli(tree):
    """What the wrapper says and how it exits: its version, the pid and trace
    it announces, -o refusing to overwrite unless --force, and --fail-on as a
    one-step CI gate (its --fail-code, else the command's status)."""
    w, _ = wrapper_tree(tree)
    for args in (["--version"], ["version"], ["run", "--version"]):
        p = wrap(w, args)
        check(p.returncode == 0 and re.fullmatch(r"timerleak \d+\.\d+\.\d+\S*\n", p.stdout),
              "%s: %r" % (" ".join(args), p.stdout))
    p = wrap(w, ["run", "-o", "a.tlk", "--", td("leak_ticker"), "-n", 40, "-l", 10])
    exe, pid = report_header(p.stdout, "a.tlk")
    expect("the start line", "timerleak: recording %s (pid %s): its trace goes to a.tlk" %
           (td("leak_ticker"), pid), p.stderr.split("\n")[0])
    with open(os.path.join(WORK, "a.tlk"), "rb") as f:
        first = f.read()
    p = wrap(w, ["run", "-o", "a.tlk", "--", PROG, "exit", 0, 1])
    expect("-o over an existing file: exit", 2, p.returncode)
    expect("-o over an existing file: message",
           "timerleak: run: a.tlk exists: give another -o, or --force to replace it",
           p.stderr.strip())
    with open(os.path.join(WORK, "a.tlk"), "rb") as f:
        check(f.read() == first, "the existing trace was changed")
    p = wrap(w, ["run", "-o", "a.tlk", "--force", "--", PROG, "exit", 0, 1])
    expect("--force: exit", 0, p.returncode)
    expect("--force: the trace replaced", PROG, report_header(p.stdout, "a.tlk")[0])
    for opts, cmd, want in (
            (["--fail-on=leak"], [td("leak_ticker"), "-n", 40, "-l", 10], 99),
            (["--fail-on=leak", "--fail-code=7"], [td("leak_ticker"), "-n", 40, "-l", 10], 7),
            (["--fail-on=warning"], [td("leak_ticker"), "-n", 40, "-l", 10], 99),
            (["--fail-on=leak"], [td("ok_ticker"), "-n", 20, "-l", 10], 0),
            (["--fail-on=leak"], [PROG, "exit", 3, 1], 3),
            (["--fail-on=note"], [PROG, "exit", 0, 1], 2),
            (["--fail-code=0", "--fail-on=leak"], [PROG, "exit", 0, 1], 2)):
        p = wrap(w, ["run"] + opts + ["-o", "g%d.tlk" % want, "--force", "--"] + cmd)
        expect("%s %s: exit" % (" ".join(opts), os.path.basename(str(cmd[0]))), want,
               p.returncode)
    check_tmp_clean()


def signal_wrapped(tree, trace, shutdown_ms, signals):
    """timerleak run -o trace -- PROG term shutdown_ms, sent signals (0.3 s
    apart, once the command is ready) through the wrapper's pid, as a user
    with `timerleak run ... &; kill $!` would.
    @return the wrapper's exit status, its whole stdout and its stderr."""
    w, _ = wrapper_tree(tree)
    proc = subprocess.Popen([w, "run", "-o", trace, "--", PROG, "term", str(shutdown_ms)],
                            env=wrapper_env(), cwd=WORK, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        first = proc.stdout.readline().decode()
        require(first.startswith("ready pid="), "the command did not start: %r" % first)
        for sig in signals:
            time.sleep(0.3)
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out, err = first + out.decode(), err.decode()
    return proc.returncode, out, err


def case_wrapper_forward(tree):
    """The pid a user has is the wrapper's: the snapshot signal and SIGTERM
    sent to it reach the command."""
    trace = os.path.join(WORK, "fwd.tlk")
    status, out, _ = signal_wrapped(tree, trace, 100, [signal.SIGUSR2, signal.SIGTERM])
    expect("the wrapper's exit status (the command's)", 0, status)
    rep = json.loads(run([REPORT, "--json", trace]).stdout)
    expect("snapshots in the trace (the wrapper's SIGUSR2)", 1, len(rep["trace"]["snapshots"]))
    check("stopped tickers=" in out, "SIGTERM did not reach the command")
    check_tmp_clean()


def case_install_pkgconfig():
    """A program built against the installed libgotimer the way the README
    says (pkg-config, and a run path from its libdir) runs; without the run
    path the loader cannot find the library, which is why the README
    says it."""
    prefix = os.path.join(WORK, "prefix")
    must([shutil.which("cmake") or "cmake", "--install", BUILD, "--prefix", prefix])
    pcdirs = [os.path.join(prefix, d, "pkgconfig") for d in ("lib", "lib64", "share")]
    env = clean_env(PKG_CONFIG_PATH=":".join(pcdirs))
    flags = must(["pkg-config", "--cflags", "--libs", "gotimer"], env=env).stdout.split()
    libdir = must(["pkg-config", "--variable=libdir", "gotimer"], env=env).stdout.strip()
    check(libdir.startswith(prefix), "libdir %r is not under the prefix" % libdir)
    src = os.path.join(WORK, "app.c")
    with open(src, "w") as f:
        f.write("#include <gotimer.h>\n#include <stdio.h>\n"
                "int main(void) { gt_timer *t = gt_timer_new(GT_MILLISECOND);\n"
                "  gt_chan_recv(gt_timer_chan(t), NULL); gt_timer_free(t);\n"
                "  printf(\"fired mode=%s\\n\", gt_mode_name(gt_mode())); return 0; }\n")
    cc = shutil.which("cc") or "cc"
    must([cc, src, "-o", os.path.join(WORK, "app")] + flags + ["-Wl,-rpath," + libdir])
    p = must([os.path.join(WORK, "app")])
    expect("the program, with the run path", "fired mode=async\n", p.stdout)
    must([cc, src, "-o", os.path.join(WORK, "app_norpath")] + flags)
    p = run([os.path.join(WORK, "app_norpath")])
    check(p.returncode != 0 and "libgotimer" in p.stderr,
          "without a run path the program should not find libgotimer: exit %d, %r" %
          (p.returncode, p.stderr))


def case_wrapper_signals(tree):
    """The command starts with the signal dispositions the wrapper was given:
    none ignored here (a command run with & by a script starts with SIGINT and
    SIGQUIT ignored, unless the script puts them back)."""
    w, _ = wrapper_tree(tree)
    plain = vals(must([PROG, "sigign"]).stdout).get("sigign")
    p = wrap(w, ["run", "-o", "sig.tlk", "--", PROG, "sigign"])
    expect("exit status", 0, p.returncode)
    got = vals(p.stdout).get("sigign")
    expect("signals ignored at the start: under timerleak run against without", plain, got)
    if got and plain and got != plain:
        extra = int(got, 16) & ~int(plain, 16)
        names = []
        for sig in sorted(signal.valid_signals()):
            if extra >> (int(sig) - 1) & 1:
                try:
                    names.append(signal.Signals(sig).name)
                except ValueError:
                    names.append(str(int(sig)))
        log("ignored under timerleak run only: " + " ".join(names))
    check_tmp_clean()


def case_wrapper_terminate(tree):
    """SIGTERM to the wrapper goes to the command; the wrapper waits for the
    command to finish (here, a graceful shutdown of 500 ms), reports its whole
    trace and exits with its status."""
    trace = os.path.join(WORK, "term.tlk")
    status, out, err = signal_wrapped(tree, trace, 500, [signal.SIGTERM])
    log(out + err)
    expect("the wrapper's exit status (the command's)", 0, status)
    stopped = out.find("stopped tickers=")
    check(stopped >= 0, "the command's last words are not in the wrapper's output")
    rep = out.find("timerleak report: ")
    check(rep >= 0 and stopped < rep, "the report was printed before the command had finished")
    n = vals(out[stopped:]).get("tickers") if stopped >= 0 else None
    check("truncated" not in err + out, "the wrapper reported a truncated trace:\n" + err)
    m = re.search(r"never-stopped ticker: (\d+) tickers", out)
    expect("tickers in the wrapper's report against the command's count", n,
           m.group(1) if m else None)
    check(os.path.isfile(trace), "no trace " + trace)
    time.sleep(1)  # let a command the wrapper left behind finish, then look
    check_tmp_clean()


# ---------------------------------------------------------------------------
# 5. go tool pprof -http

def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def serve(prof):
    """Start go tool pprof -http on a free port; @return (process, base URL)."""
    for attempt in range(3):
        port = free_port()
        logf = open(os.path.join(WORK, "http.%d.log" % attempt), "w+")
        # A session of its own: `go tool` runs pprof as its child, and both go.
        proc = subprocess.Popen([GO, "tool", "pprof", "-http=127.0.0.1:%d" % port, "-no_browser",
                                 prof], env=clean_env(), cwd=WORK, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True)
        base = "http://127.0.0.1:%d" % port
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                if get(base + "/ui/top", timeout=5)[0] == 200:
                    return proc, base
            except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
                pass
            time.sleep(0.1)
        stop(proc)
        logf.seek(0)
        log("pprof -http did not come up on port %d:\n%s" % (port, logf.read()))
    raise Fatal("go tool pprof -http never served")


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def case_http(page):
    trace, _ = leak_ticker(30)
    prof = profile(trace, "leak_ticker.pb.gz")
    line, text = creating_line("testdata/leak_ticker.c", "handle_request", "gt_ticker_new(")
    proc, base = serve(prof)
    try:
        if page == "top":
            for url in ("/ui/top", "/ui/top?si=inuse_objects", "/ui/top?si=alloc_space"):
                code, body = get(base + url)
                expect("GET %s" % url, 200, code)
                for name in ("handle_request", "worker"):
                    check(name in body, "GET %s: no %s in the page" % (url, name))
            code, body = get(base + "/ui/top")
            for index in INDEXES:
                check(index in body, "GET /ui/top: sample index %s not offered" % index)
        elif page == "flamegraph":
            code, body = get(base + "/ui/flamegraph")
            expect("GET /ui/flamegraph", 200, code)
            for name in ("handle_request", "worker"):
                check(name in body, "GET /ui/flamegraph: no %s in the page" % name)
        else:
            url = "/ui/source?f=handle_request"
            code, body = get(base + url)
            expect("GET " + url, 200, code)
            content = re.search(r'<div id="content" class="source">(.*?)</div>\s*<script>', body,
                                re.S)
            shown = html.unescape(re.sub(r"<[^>]*>", " ", content.group(1))) if content else ""
            check("handle_request" in shown,
                  "GET %s: the page's source view does not show handle_request (%d characters)"
                  % (url, len(shown.strip())))
            check(text.split("(")[0] in shown,
                  "GET %s: the leaking line %d (%s) is not shown" % (url, line, text))
    finally:
        stop(proc)


# ---------------------------------------------------------------------------
# 6. scripts/demo

def findings_of(text):
    """The text report's findings: [(severity, title, first frame)]."""
    out = []
    for m in re.finditer(r"^\[\d+\] (LEAK|WARNING|note)\s+(.+)\n((?:.+\n)*)", text, re.M):
        frame = re.search(r"^\s+(?:created at|at)\n\s+(\w+)\s", m.group(3), re.M)
        out.append((m.group(1), m.group(2), frame.group(1) if frame else None))
    return out


def case_demo():
    env = clean_env(DEMO_SECONDS=2, BUILD_DIR=BUILD, JOBS=2)
    env.pop("GOTIMER_CHAN")
    p = run(["sh", os.path.join(SOURCE, "scripts/demo")], env=env, timeout=280)
    text = p.stdout + p.stderr
    expect("scripts/demo exit status", 0, p.returncode)
    for f in ("demo.tlk", "demo.pb.gz", "demo.timeline.json"):
        check(os.path.isfile(os.path.join(WORK, f)), "scripts/demo wrote no %s here" % f)
    got = findings_of(p.stdout)
    planted = [("LEAK", "after-in-loop", "next_event"),
               ("LEAK", "never-stopped ticker", "stream_progress"),
               ("WARNING", "reset without drain", "keepalive_reset")]
    for sev, title, frame in planted:
        check(any(s == sev and t.startswith(title) and f == frame for s, t, f in got),
              "scripts/demo: no %s %s at %s among %r" % (sev, title, frame, got))
    i = p.stdout.find("$ go tool pprof -top -inuse_space demo.pb.gz")
    if check(i >= 0, "scripts/demo shows no pprof top:\n" + text):
        rows = []
        for line in p.stdout[i:].split("\n")[1:]:
            m = TOP_ROW.match(line)
            if m:
                rows.append(m.group(6))
            elif line.startswith("=="):
                break
        expect("the pprof top's first rows", ["next_event", "stream_progress"], rows[:2])
    if os.path.isfile(os.path.join(WORK, "demo.timeline.json")):
        with open(os.path.join(WORK, "demo.timeline.json")) as f:
            try:
                json.load(f)
            except ValueError as e:
                fail("demo.timeline.json: " + str(e))


# ---------------------------------------------------------------------------

CASES = {
    "raw": case_raw,
    "list": case_list,
    "inline": case_inline,
    "split": case_split,
    "file": case_file,
    "traces": case_traces,
    "tagfocus": case_tagfocus,
    "base": case_base,
    "base_signal": case_base_signal,
    "proto": case_proto,
    "deterministic": case_deterministic,
    "go_heap.raw": case_go_heap_raw,
    "agree": case_agree,
    "go_heap.top": case_go_heap_top,
    "timeline.counters": case_timeline_counters,
    "timeline.resets": case_timeline_resets,
    "demo": case_demo,
}
for _i in INDEXES:
    CASES["top." + _i] = (lambda i: lambda: case_top(i))(_i)
for _t in ("build", "install"):
    for _c, _f in (("report", case_wrapper_report), ("exit_status", case_wrapper_exit_status),
                   ("cli", case_wrapper_cli),
                   ("stdin", case_wrapper_stdin), ("children", case_wrapper_children)):
        CASES["wrapper.%s.%s" % (_t, _c)] = (lambda f, t: lambda: f(t))(_f, _t)
CASES["wrapper.build.exec"] = lambda: case_wrapper_exec("build")
CASES["wrapper.build.signals"] = lambda: case_wrapper_signals("build")
CASES["wrapper.build.terminate"] = lambda: case_wrapper_terminate("build")
CASES["wrapper.build.forward"] = lambda: case_wrapper_forward("build")
CASES["install.pkgconfig"] = case_install_pkgconfig
for _p in ("top", "flamegraph", "source"):
    CASES["http." + _p] = (lambda p: lambda: case_http(p))(_p)


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: pprof_test.py CASE\ncases: " + " ".join(sorted(CASES)), file=sys.stderr)
        return 2
    missing = [k for k in ("TL_SOURCE", "TL_BUILD", "TL_PRELOAD", "TL_REPORT", "TL_TESTDATA",
                           "TL_PROG", "TL_WORK", "TL_GO_HOME") if not E.get(k)]
    if missing:
        print("pprof_test.py: not set: %s (run it from ctest)" % " ".join(missing), file=sys.stderr)
        return 2
    if not shutil.which(GO):
        print("pprof_test.py: no go command (%s): scripts/setup installs golang-go" % GO,
              file=sys.stderr)
        return 1
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    for d in ("home", "cache", "path"):
        os.makedirs(os.path.join(GO_HOME, d), exist_ok=True)
    start = time.time()
    try:
        CASES[sys.argv[1]]()
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

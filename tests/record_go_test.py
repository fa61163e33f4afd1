#!/usr/bin/env python3
"""record_go_test.py - timerleak-record on Go programs, end to end.

Usage: record_go_test.py CASE   (tests/record.cmake registers each as record.CASE)

The cases:
  go.PROGRAM            a Go test program of testdata/go, built with the
                        machine's Go, started, attached to while it runs
                        (it waits for its recorder), then let go on: a
                        leak_* program's one finding at its marked line with
                        the version's verdict, an ok_* look-alike clean
  go.PROGRAM.stripped   the same program built with -ldflags='-s -w': the
                        same findings at the same lines, from .gopclntab alone
  go.leak_after_loop.noinline  built with -gcflags=all=-l: time.After is a
                        frame of its own, and still told from NewTimer
  go.leak_ticker.pie    built with -buildmode=pie: loaded anywhere, its table
                        in .data.rel.ro.gopclntab
  go.seed               the seed's consumer, 100,000 messages through
                        time.After(time.Hour): every one retained, and the
                        bytes held against Go's own heap profile of the run
  go.demo               testdata/go/demo_service, attached after it has run a
                        while, through the wrapper (timerleak record
                        --report): its three bugs at their lines
  go.esbuild.go1.19     the npm registry's stripped esbuild binaries (Go
  go.esbuild.go1.26     1.19.3 and 1.26.5) in --watch mode, attached while
                        the watched file is edited: esbuild rebuilds on, the
                        trace decodes, its timers are symbolized to
                        esbuild's own functions
  go.attach_detach      attach and detach again and again to a busy Go timer
                        loop: it runs on to the same result
  go.bad_version        a Go binary of a version no layout is known for:
                        refused by name, no trace

A case exits 77 (skipped) where eBPF cannot run, without a Go toolchain, or
without the npm registry (the esbuild cases).

Environment (set by tests/record.cmake): those of record_test.py, and
TL_GO (the go command), TL_GO_SRC (testdata/go), TL_GOCACHE (a build cache
the cases share), TL_NPM_CACHE.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import record_test as rt  # noqa: E402
from record_test import (Recorder, need_bpf, report_json, run, text, wait_until,  # noqa: E402
                         wpath)
from tlcheck import Fatal, Skip, check, expect, log, require  # noqa: E402

E = os.environ
GO_SRC = E.get("TL_GO_SRC", "")
GOCACHE = E.get("TL_GOCACHE", "")


def go_cmd():
    go = E.get("TL_GO") or shutil.which("go") or "/usr/lib/go/bin/go"
    if not os.path.exists(go) and not shutil.which(go):
        raise Skip("no Go toolchain")
    return go


def go_env():
    return dict(os.environ, HOME=wpath("gohome"), GOCACHE=GOCACHE or wpath("gocache"),
                GOPROXY="off", GOFLAGS="-mod=mod", GO111MODULE="on", GOTOOLCHAIN="local")


def go_build(exe, target, src, flags=()):
    cmd = [go_cmd(), "build", "-o", exe] + list(flags) + [target]
    log("$ (cd %s; %s)" % (src, " ".join(cmd)))
    p = subprocess.run(cmd, cwd=src, env=go_env(), capture_output=True, timeout=600)
    require(p.returncode == 0, "go build %s: %s" % (target, text(p.stderr)))
    return exe


# How a program may be built: go build's flags.
VARIANTS = {"": [], "stripped": ["-ldflags=-s -w"], "noinline": ["-gcflags=all=-l"],
            "pie": ["-buildmode=pie"]}


def build(prog, variant=""):
    """testdata/go/PROG built here (VARIANTS): its path."""
    return go_build(wpath(prog + ("." + variant if variant else "")), "./" + prog, GO_SRC,
                    VARIANTS[variant])


def go_version():
    p = subprocess.run([go_cmd(), "version"], capture_output=True, env=go_env())
    m = re.search(r"\b(go1\.\d+(\.\d+)?)\b", text(p.stdout))
    require(m, "go version: " + text(p.stdout))
    return m.group(1)


class GoProgram:
    """A test program, started; it says "ready" and waits for a line."""

    def __init__(self, name, exe, *args, env=None):
        self.name = name
        self.out = open(wpath(name + ".out"), "w+")
        cmd = [exe] + list(args)
        log("$ " + " ".join(cmd) + " &")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self.out,
                                  stderr=subprocess.STDOUT, cwd=rt.WORK,
                                  env=env or rt.clean_env())
        wait_until(name + " ready", lambda: "ready" in self.output() or
                   self.p.poll() is not None)
        require(self.p.poll() is None, "%s ended before it was ready: %s" % (
            name, self.output()))

    def output(self):
        self.out.seek(0)
        return self.out.read()

    def go_on(self):
        self.p.stdin.write(b"go\n")
        self.p.stdin.flush()

    def wait(self, timeout=120):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise Fatal("%s did not end" % self.name)
        return self.p.returncode


def record(name, exe, *args, env=None):
    """exe started, attached to, let go on; its trace and output."""
    trace = wpath(name + ".tlk")
    prog = GoProgram(name, exe, *args, env=env)
    rec = Recorder(prog.p.pid, trace)
    prog.go_on()
    expect("%s: exit status" % name, 0, prog.wait())
    expect("recorder's exit status", 0, rec.wait())
    check(rec.said("the process exited"), "the recorder did not see the process exit")
    return trace, prog.output()


def marked_line(prog, marker):
    """The line of testdata/go/PROG/main.go that carries the comment marker."""
    with open(os.path.join(GO_SRC, prog, "main.go")) as f:
        for n, line in enumerate(f, 1):
            if "// " + marker in line:
                return n
    raise Fatal("no // %s in %s" % (marker, prog))


# Each leaking program's finding: pattern, severity, the function, the
# marker of its line; the site is the creating call, or for a reset the
# reset's. The look-alikes (ok_*) have no leak and no warning.
GO_LEAKS = {
    "leak_after_loop": ("after-in-loop", "leak", "main.consume", "leak:"),
    "leak_ticker": ("never-stopped-ticker", "leak", "main.handle", "leak:"),
    "leak_afterfunc": ("callback-retention", "leak", "main.serve", "leak:"),
    "leak_reset_nodrain": ("reset-without-drain", "warning", "main.main", "bug:"),
}
GO_OKS = ["ok_timer_reset", "ok_ticker", "ok_afterfunc", "ok_reset_drain"]
GO_PROGS = list(GO_LEAKS) + GO_OKS


def case_go(prog, variant=""):
    need_bpf()
    exe = build(prog, variant)
    trace, _ = record(prog, exe)
    rep = report_json(trace)
    expect("%s: trace complete" % prog, True, rep["trace"]["complete"])
    expect("%s: events dropped" % prog, 0, rep["trace"]["dropped"])
    expect("%s: events of timers never seen created" % prog, 0, rep["trace"]["orphan_events"])
    check(rep["trace"]["attached"] is not None, "the trace does not say it was attached")
    bad = [f for f in rep["findings"] if f["severity"] in ("leak", "warning")]
    if prog in GO_OKS:
        expect("%s: leaks and warnings" % prog, [], [(f["pattern"], f["severity"]) for f in bad])
        return
    pattern, severity, func, marker = GO_LEAKS[prog]
    expect("%s: findings" % prog, [(pattern, severity)],
           [(f["pattern"], f["severity"]) for f in bad])
    if not bad:
        return
    f = bad[0]
    where = (f.get("call_site") if pattern == "reset-without-drain" else f.get("site")) or [{}]
    expect("%s: at" % prog, (func, "main.go", marked_line(prog, marker)),
           (where[0].get("function"), os.path.basename(where[0].get("file") or ""),
            where[0].get("line")))
    # The version's verdict, in Go's terms.
    check("t.Stop()" in f["fix"] or "<-t.C" in f["fix"], "%s: no Go fix: %r" % (prog, f["fix"]))
    if pattern == "after-in-loop":
        check("upgrading from 1.22 fixes" in f["fix"],
              "%s: the Go 1.23 verdict missing: %r" % (prog, f["fix"]))
    if pattern != "reset-without-drain":
        go_pprof(prog, trace, func, marked_line(prog, marker), pattern)
    if pattern == "callback-retention":  # the closure AfterFunc runs
        expect("%s: callback" % prog, ("main.serve.func1", marked_line(prog, marker)),
               ((f.get("callback") or {}).get("function"), (f.get("callback") or {}).get("line")))


def go_pprof(prog, trace, func, line, pattern):
    """The profile read as Go's heap profile is: go tool pprof -list puts
    the retained bytes on the leaking line, labelled with the pattern."""
    pprof = wpath(prog + ".pb.gz")
    r = run([rt.REPORT, "--pprof=" + pprof, trace])
    require(r.returncode == 0, "timerleak-report --pprof: " + text(r.stderr))
    p = run([go_cmd(), "tool", "pprof", "-list", "^" + re.escape(func) + "$", pprof],
            env=go_env())
    require(p.returncode == 0, "go tool pprof -list: " + text(p.stderr))
    m = re.search(r"^\s+\S+\s+(\S+)\s+%d:" % line, text(p.stdout), re.M)
    check(m and m.group(1) != ".", "%s: no bytes on line %d in go tool pprof -list:\n%s" % (
        prog, line, text(p.stdout)))
    t = run([go_cmd(), "tool", "pprof", "-tags", pprof], env=go_env())
    check(pattern in text(t.stdout), "%s: no pattern label %s:\n%s" % (
        prog, pattern, text(t.stdout)))


def case_seed():
    """The seed's consumer: 100,000 messages, each through an abandoned
    time.After(time.Hour): all of them retained at the peak, and the bytes
    within a tenth of Go's own heap profile (every allocation sampled)."""
    need_bpf()
    exe = build("leak_after_loop")
    heap = wpath("heap.pb.gz")
    trace, out = record("seed", exe, "100000", env=rt.clean_env(TL_GO_HEAP=heap))
    check("consumed 100000" in out, "the consumer did not consume: " + out)
    rep = report_json(trace)
    f = [f for f in rep["findings"] if f["pattern"] == "after-in-loop"]
    require(f, "no after-in-loop finding")
    st = f[0]["stats"]
    # 100,000 messages and the turn that saw the channel closed
    expect("timers created at the site", 100001, st["created"])
    expect("retained at the peak", 100001, st["peak_pending"])
    p = run([go_cmd(), "tool", "pprof", "-sample_index=inuse_space", "-top", "-unit=B", heap],
            env=go_env())
    require(p.returncode == 0, "go tool pprof: " + text(p.stderr))
    m = re.search(r"^\s*(\d+)B\s.*\btime\.NewTimer$", text(p.stdout), re.M)
    require(m, "time.NewTimer not in Go's heap profile:\n" + text(p.stdout))
    go_bytes = int(m.group(1))
    ours = st["peak_pending_bytes"]
    log("bytes retained: timerleak %d, Go's heap profile %d (ratio %.3f)" % (
        ours, go_bytes, ours / go_bytes))
    check(0.9 <= ours / go_bytes <= 1.1, "retained bytes %d, Go's heap profile says %d" % (
        ours, go_bytes))


def case_demo():
    """The Go demo service, attached after a second, as the README shows."""
    need_bpf()
    exe = build("demo_service")
    out = open(wpath("demo.out"), "w")
    prog = subprocess.Popen([exe], stdout=out, stderr=subprocess.STDOUT, cwd=rt.WORK)
    try:
        time.sleep(1)
        trace = wpath("demo.tlk")
        r = run([rt.WRAPPER, "record", "-p", str(prog.pid), "-d", "3", "-o", trace,
                 "--report"], timeout=120)
        expect("timerleak record: exit status", 0, r.returncode)
        check(prog.poll() is None, "the service ended while recorded")
    finally:
        prog.terminate()
        prog.wait()
    check("go1." in text(r.stdout) and "with asynchronous timer channels" in text(r.stdout),
          "the report does not name the Go version:\n" + text(r.stdout))
    rep = report_json(trace)
    got = sorted((f["pattern"], f["severity"], ((f.get("call_site") if f["pattern"] ==
                  "reset-without-drain" else f.get("site")) or [{}])[0].get("function"))
                 for f in rep["findings"] if f["severity"] in ("leak", "warning"))
    expect("the demo's bugs", sorted([
        ("after-in-loop", "leak", "main.consume"),
        ("never-stopped-ticker", "leak", "main.streamProgress"),
        ("reset-without-drain", "warning", "main.keepaliveReset")]), got)


# ---------------------------------------------------------------------------
# esbuild from the npm registry


def esbuild(version):
    import gosym_test
    gosym_test.WORK = rt.WORK
    return gosym_test.esbuild(version)


def case_esbuild(version):
    need_bpf()
    exe = esbuild(version)
    src = wpath("in.js")
    with open(src, "w") as f:
        f.write("export const a = 0;\n")
    out = open(wpath("esbuild.out"), "w+")
    cmd = [exe, "in.js", "--outfile=out.js", "--watch"]
    log("$ " + " ".join(cmd) + " &")
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                         cwd=rt.WORK, env=rt.clean_env())

    def builds():
        out.seek(0)
        return out.read().count("build finished")
    try:
        wait_until("esbuild's first build", lambda: builds() >= 1)
        trace = wpath("esbuild.tlk")
        rec = Recorder(p.pid, trace, "-d", "3")
        for i in range(1, 7):
            with open(src, "w") as f:
                f.write("export const a = %d;\n" % i)
            time.sleep(0.5)
        expect("recorder's exit status", 0, rec.wait())
        # Detached: esbuild still rebuilds what changes.
        n = builds()
        with open(src, "w") as f:
            f.write("export const a = 4242;\n")
        wait_until("a rebuild after the recorder left", lambda: builds() > n)
        with open(wpath("out.js")) as f:
            check("4242" in f.read(), "esbuild's output is not the last edit")
        check(p.poll() is None, "esbuild ended")
    finally:
        p.kill()
        p.wait()
    rep = report_json(trace)
    expect("trace complete", True, rep["trace"]["complete"])
    check(rep["trace"]["events"] > 10, "only %d events in 3 s" % rep["trace"]["events"])
    ver = {"go1.19": "go1.19.3", "go1.26": "go1.26.5"}[version]
    pprof = wpath("esbuild.pb.gz")
    r = run([rt.REPORT, "--pprof=" + pprof, trace])
    require(r.returncode == 0, "timerleak-report: " + text(r.stderr))
    check(ver + " with asynchronous timer channels" in text(r.stdout),
          "the report does not name %s:\n%s" % (ver, text(r.stdout)))
    t = run([go_cmd(), "tool", "pprof", "-traces", "-sample_index=alloc_objects", pprof],
            env=go_env())
    require(t.returncode == 0, "go tool pprof: " + text(t.stderr))
    check("github.com/evanw/esbuild/" in text(t.stdout),
          "no timer symbolized to esbuild's own functions:\n" + text(t.stdout))
    check("go-sleep" in text(t.stdout), "no time.Sleep timer:\n" + text(t.stdout))


# ---------------------------------------------------------------------------
# Attach and detach under load; a version not known


BUSY = """package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	fmt.Println("ready")
	sum := 0
	for i := 0; i < n; i++ {
		t := time.NewTimer(time.Hour)
		if t.Stop() {
			sum++
		}
		select {
		case <-time.After(time.Hour):
		default:
			sum += 2
		}
		if i%1000 == 0 {
			time.Sleep(time.Microsecond)
		}
	}
	fmt.Println("sum", sum)
}
"""


def case_attach_detach():
    """A Go program busy with timers, attached and detached again and
    again: it ends as it does unrecorded, with the same result."""
    need_bpf()
    src = wpath("busy")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "main.go"), "w") as f:
        f.write(BUSY)
    with open(os.path.join(src, "go.mod"), "w") as f:
        f.write("module busy\n\ngo 1.19\n")
    exe = go_build(wpath("busy.bin"), ".", src)
    n = "3000000"
    bare = run([exe, n])
    require(bare.returncode == 0, "unrecorded run: " + text(bare.stderr))
    out = open(wpath("busy.out"), "w+")
    prog = subprocess.Popen([exe, n], stdout=out, stderr=subprocess.STDOUT, cwd=rt.WORK)
    cycles = 0
    try:
        wait_until("busy ready", lambda: os.path.getsize(wpath("busy.out")) > 0)
        while prog.poll() is None and cycles < 5:
            trace = wpath("cycle%d.tlk" % cycles)
            r = run([rt.RECORD, "-p", str(prog.pid), "-o", trace, "--force", "-d", "0.3"])
            if prog.poll() is None:
                expect("cycle %d: recorder's exit status" % cycles, 0, r.returncode)
                rep = report_json(trace)
                check(rep["trace"]["events"] > 0, "cycle %d: no events" % cycles)
            cycles += 1
        prog.wait(300)
    finally:
        if prog.poll() is None:
            prog.kill()
            prog.wait()
    log("%d attach-detach cycles" % cycles)
    check(cycles >= 2, "the program ended before two cycles: %d" % cycles)
    expect("exit status", 0, prog.returncode)
    out.seek(0)
    expect("result", text(bare.stdout).strip().splitlines()[-1],
           out.read().strip().splitlines()[-1])
    check(not rt.our_links(prog.pid), "a probe stayed attached")


def case_bad_version():
    """A Go binary whose build says a version with no known layout (its
    version strings changed to go1.17.8): refused, naming it; no trace."""
    need_bpf()
    exe = build("ok_ticker")
    with open(exe, "rb") as f:
        data = f.read()
    ver = go_version().encode()
    require(ver in data, "%s not in the binary" % ver)
    fake = b"go1.17" + ver[len(b"go1.19"):]
    bad = wpath("old_go")
    with open(bad, "wb") as f:
        f.write(data.replace(ver, fake))
    os.chmod(bad, 0o755)
    prog = GoProgram("old_go", bad)
    try:
        trace = wpath("old.tlk")
        r = run([rt.RECORD, "-p", str(prog.p.pid), "-o", trace, "-d", "1"])
    finally:
        prog.p.kill()
        prog.p.wait()
    expect("exit status", 1, r.returncode)
    want = "is a Go program (%s): timerleak-record follows the timers of Go 1.19 to 1.27" % (
        fake.decode())
    check(want in text(r.stderr), "%r, not %r" % (text(r.stderr), want))
    check(not os.path.exists(trace), "a trace was left")


CASES = {}
for _p in GO_PROGS:
    CASES["go." + _p] = (lambda p: lambda: case_go(p))(_p)
    CASES["go." + _p + ".stripped"] = (lambda p: lambda: case_go(p, "stripped"))(_p)
CASES.update({
    "go.leak_after_loop.noinline": lambda: case_go("leak_after_loop", "noinline"),
    "go.leak_ticker.pie": lambda: case_go("leak_ticker", "pie"),
    "go.seed": case_seed,
    "go.demo": case_demo,
    "go.esbuild.go1.19": lambda: case_esbuild("go1.19"),
    "go.esbuild.go1.26": lambda: case_esbuild("go1.26"),
    "go.attach_detach": case_attach_detach,
    "go.bad_version": case_bad_version,
})


if __name__ == "__main__":
    sys.exit(rt.main(CASES, "record_go_test.py"))

#!/usr/bin/env python3
"""record_test.py - timerleak-record, attached with eBPF, end to end.

Usage: record_test.py CASE   (tests/record.cmake registers each as record.CASE)

The cases:
  td.PROGRAM      a testdata program started paused (libtd_pause.so), the
                  recorder attached, then let run: its report has the same
                  findings, at the same lines, with the same counts, as the
                  shim's report of the same program and arguments
  daemon.leak     leak_daemon attached after it has run a while: the leak
                  found at its line, the report says it was attached
  daemon.ok       ok_daemon likewise: no leak, no warning
  demo            the demo service attached while it runs: its three bugs
  both_ways       one run length of the demo recorded both ways: the same
                  sites and kinds, counts within what timing explains
  attach_detach   ten attaches and detaches to a busy process: it runs on
                  unchanged, and no probe stays attached
  kill9           a recorder killed with SIGKILL leaves no probe attached
  bad.*           a pid that does not exist, one that exits while recorded,
                  a kernel thread, the recorder's own pid (Go programs:
                  record_go_test.py)
  serve           --serve: metrics of the demo served while it is recorded
  usage           the command line
  wrapper         timerleak record -p PID --report

A case exits 77 (skipped) where eBPF cannot run here: not root, no kernel
BTF, or a build without the BPF program.

Environment (set by tests/record.cmake): TL_SOURCE, TL_RECORD, TL_REPORT,
TL_PRELOAD (the shim), TL_PAUSE (libtd_pause.so), TL_TESTDATA, TL_BIN (the
test programs), TL_WRAPPER, TL_WORK (this case's directory).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from tlcheck import (Fatal, Skip, check, clean_env, expect, find_call, free_port, log,
                     require, run_case)

E = os.environ
SOURCE = E.get("TL_SOURCE", "")
RECORD = E.get("TL_RECORD", "")
REPORT = E.get("TL_REPORT", "")
PRELOAD = E.get("TL_PRELOAD", "")
PAUSE = E.get("TL_PAUSE", "")
TESTDATA = E.get("TL_TESTDATA", "")
BIN = E.get("TL_BIN", "")
WRAPPER = E.get("TL_WRAPPER", "")
WORK = E.get("TL_WORK", "")

# The program names of the BPF side (record.bpf.c): a link of one of them
# after the recorder is gone is a probe left behind.
OUR_PROGS = ("probe", "tfd_create_enter", "tfd_create_exit", "close_enter", "pt_create_exit",
             "process_exit", "dup_exit2", "fcntl_exit")


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def wpath(*parts):
    return os.path.join(WORK, *parts)


def td(name):
    return os.path.join(TESTDATA, name)


def vals(out):
    return {k: int(v) if re.fullmatch(r"-?\d+", v) else v
            for k, v in re.findall(r"(\w+)=(\S+)", text(out))}


def run(cmd, timeout=120, env=None):
    log("$ " + " ".join(map(str, cmd)))
    try:
        return subprocess.run([str(c) for c in cmd], env=env or clean_env(), cwd=WORK,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fatal("timed out after %d s: %s" % (timeout, " ".join(map(str, cmd))))


def wait_until(what, cond, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    raise Fatal("%s: not within %d s" % (what, seconds))


def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def need_bpf():
    if os.geteuid() != 0:
        raise Skip("needs root")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        raise Skip("this kernel has no BTF")
    # A kernel thread: refused at once where it can record at all.
    p = run([RECORD, "-p", "2", "-o", wpath("probe.tlk")])
    if "this build has no BPF program" in text(p.stderr):
        raise Skip(text(p.stderr).strip())


class Recorder:
    """timerleak-record -p pid, in the background, until it says it records."""

    def __init__(self, pid, trace, *opts):
        self.trace = trace
        self.err = open(trace + ".err", "w+")
        cmd = [RECORD, "-p", str(pid), "-o", trace, "--force"] + list(opts)
        log("$ " + " ".join(cmd) + " &")
        self.p = subprocess.Popen(cmd, env=clean_env(), cwd=WORK, stdout=subprocess.DEVNULL,
                                  stderr=self.err)
        wait_until("the recorder attached", lambda: self.said("recording pid") or
                   self.p.poll() is not None)
        if self.p.poll() is not None:
            raise Fatal("the recorder ended before attaching: " + self.stderr())

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def said(self, s):
        return s in self.stderr()

    def wait(self, timeout=60):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise Fatal("the recorder did not stop within %d s" % timeout)
        log(self.stderr())
        return self.p.returncode

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        return self.wait()


# A program preloaded with one of our libraries in a sanitized build: its
# sanitizer's runtime wants to come first, and need not here.
PRELOAD_ASAN = ":".join(o for o in (E.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if o)


def start(name, cmd, paused=False, mode=None):
    """A program in the background, output in WORK/name.out; paused: stopped
    before main() until SIGCONT."""
    env = clean_env()
    if paused:
        # In a sanitized build the programs' sanitizer wants to be first.
        env.update(LD_PRELOAD=PAUSE, TD_PAUSE="1", ASAN_OPTIONS=PRELOAD_ASAN)
    if mode:
        env["GOTIMER_CHAN"] = mode
    out = open(wpath(name + ".out"), "w")
    log("$ " + " ".join(map(str, cmd)) + " &")
    p = subprocess.Popen([str(c) for c in cmd], env=env, cwd=WORK, stdout=out,
                         stderr=subprocess.STDOUT)
    if paused:
        wait_until("the program paused", lambda: state(p.pid) == "T" or p.poll() is not None)
    return p


def output(name):
    with open(wpath(name + ".out")) as f:
        return f.read()


def shim(name, cmd, mode=None):
    """cmd under the shim: the reference recording."""
    trace = wpath(name + ".shim.tlk")
    env = clean_env(LD_PRELOAD=PRELOAD, TIMERLEAK_OUTPUT=trace, TIMERLEAK_QUIET="1",
                    ASAN_OPTIONS=PRELOAD_ASAN)
    if mode:
        env["GOTIMER_CHAN"] = mode
    p = run(cmd, env=env)
    require(p.returncode == 0, "%s under the shim: exit %d: %s" % (name, p.returncode,
                                                                    text(p.stderr)))
    return trace, vals(p.stdout)


def bpf(name, cmd, mode=None, opts=()):
    """cmd started paused, recorded from outside from its first timer on."""
    trace = wpath(name + ".bpf.tlk")
    p = start(name, cmd, paused=True, mode=mode)
    rec = Recorder(p.pid, trace, *opts)
    os.kill(p.pid, signal.SIGCONT)
    try:
        p.wait(120)
    except subprocess.TimeoutExpired:
        p.kill()
        raise Fatal("%s did not end" % name)
    expect("%s: exit status" % name, 0, p.returncode)
    expect("recorder's exit status", 0, rec.wait())
    check(rec.said("the process exited"), "the recorder did not see the process exit")
    return trace, vals(output(name))


def report_json(trace):
    p = run([REPORT, "--json", trace])
    require(p.returncode == 0, "timerleak-report %s: exit %d: %s" % (
        os.path.basename(trace), p.returncode, text(p.stderr)))
    return json.loads(p.stdout)


def site_of(f):
    """A finding's pattern, severity and creating call: function, file, line."""
    fr = f["site"][0] if f.get("site") else {}
    return (f["pattern"], f["severity"], fr.get("function"),
            os.path.basename(fr.get("file") or ""), fr.get("line"))


def findings(rep):
    return sorted(site_of(f) for f in rep["findings"])


# ---------------------------------------------------------------------------
# td.*: every testdata program, from outside, against the shim

# The programs that leak by keeping what they made are paced to make it
# for two seconds: a verdict from growth needs growth to see, from a
# program started paused as much as from one under the shim.
TD = {
    "leak_ticker": ["-n", "200", "-w", "1", "-l", "50"],
    "ok_ticker": ["-n", "200", "-w", "1", "-l", "50"],
    "leak_after_loop": ["-n", "3000"],
    "ok_timer_reset": ["-n", "3000"],
    "leak_reset_nodrain": ["-n", "12"],
    "ok_reset_drain": ["-n", "12"],
    "leak_afterfunc": ["-n", "300"],
    "ok_afterfunc": ["-n", "300"],
    "leak_timerfd": ["-n", "200", "-r", "80", "-w", "2"],
    "ok_timerfd": ["-n", "200", "-r", "80", "-w", "2"],
    "leak_posix_timer": ["-n", "200", "-j", "20000", "-w", "2"],
    "ok_posix_timer": ["-n", "200", "-j", "20000", "-w", "2"],
}


def case_td(prog):
    need_bpf()
    cmd = [td(prog)] + TD[prog]
    ref, v_ref = shim(prog, cmd)
    got, v_got = bpf(prog, cmd)
    a, b = report_json(ref), report_json(got)
    expect("%s: findings (pattern, severity, function, file, line) from outside" % prog,
           findings(a), findings(b))
    # Made deterministic by their arguments: the program did the same.
    for k in ("tickers_created", "afters_created", "timerfds_created", "timers_created",
              "inspectors"):
        if k in v_ref:
            expect("%s: program's %s in both runs" % (prog, k), v_ref[k], v_got.get(k))
    expect("%s: timers created, by kind" % prog, a["trace"]["created_by_kind"],
           b["trace"]["created_by_kind"])
    expect("%s: events dropped" % prog, 0, b["trace"]["dropped"])
    expect("%s: events of timers never seen created" % prog, 0, b["trace"]["orphan_events"])
    # Counts that depend on the run's timing (a reset that found a value
    # waiting) may differ between two runs.
    for fa, fb in zip(sorted(a["findings"], key=site_of), sorted(b["findings"], key=site_of)):
        if site_of(fa) == site_of(fb) and fa["pattern"] != "reset-without-drain":
            expect("%s: %s: count" % (prog, fa["pattern"]), fa["count"], fb["count"])
    expect("%s: unwinder" % prog, "bpf", b["process"]["unwinder"])
    check(b["trace"]["attached"] is not None, "the trace does not say it was attached")


# ---------------------------------------------------------------------------
# Services attached after they have run a while

def creating_line(src, func, call):
    return find_call(os.path.join(SOURCE, src), func, call)[0]


def attached_daemon(name, leaks):
    need_bpf()
    p = start(name, [td(name), "-i", "5"])
    wait_until("%s ready" % name, lambda: "ready" in output(name))
    time.sleep(1.0)
    trace = wpath(name + ".tlk")
    rec = Recorder(p.pid, trace, "-d", "2")
    expect("recorder's exit status", 0, rec.wait())
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    rep = report_json(trace)
    expect("%s: attached" % name, True, rep["trace"]["attached"] is not None)
    started = (rep["trace"]["attached"] or {}).get("process_started_s", 0)
    check(started < -0.9, "%s: it had run for %.2f s, expected 1 s or more" % (name, -started))
    check(rep["trace"]["timers_before_trace"] >= 8,
          "%s: the lifetime timers found when attached: %d" % (
              name, rep["trace"]["timers_before_trace"]))
    sev = [f for f in rep["findings"] if f["severity"] in ("leak", "warning")]
    if leaks:
        line = creating_line("testdata/daemon.c", "request_progress", "gt_ticker_new(")
        expect("%s: the leak" % name,
               [("never-stopped-ticker", "leak", "request_progress", "daemon.c", line)],
               [site_of(f) for f in sev])
    else:
        expect("%s: leaks and warnings" % name, [], [site_of(f) for f in sev])
    out = text(run([REPORT, trace]).stdout)
    check(re.search(r"^  attached  at .* to pid %d, running for " % p.pid, out, re.M),
          "no attached line in the report:\n" + out)


def case_demo():
    need_bpf()
    p = start("demo", [td("demo_service"), "-t", "5"])
    time.sleep(1.0)
    trace = wpath("demo.tlk")
    rec = Recorder(p.pid, trace, "-d", "2.5")
    expect("recorder's exit status", 0, rec.wait())
    p.wait(30)
    rep = report_json(trace)
    got = [site_of(f)[:3] for f in rep["findings"]]
    for want in (("after-in-loop", "leak", "next_event"),
                 ("never-stopped-ticker", "leak", "stream_progress"),
                 ("reset-without-drain", "warning", "keepalive_reset")):
        check(want in got, "demo: %s not found: %s" % (want, got))


def case_both_ways():
    """The demo, 2 s, both ways: the same sites and kinds; counts within a
    fifth (the service is paced by time, not by count)."""
    need_bpf()
    cmd = [td("demo_service"), "-t", "2"]
    ref, _ = shim("demo", cmd)
    got, _ = bpf("demo", cmd)
    a, b = report_json(ref), report_json(got)
    expect("findings (pattern, severity, function, file, line)", findings(a), findings(b))
    for kind, n in a["trace"]["created_by_kind"].items():
        m = b["trace"]["created_by_kind"].get(kind, 0)
        check(abs(m - n) <= max(3, n // 5), "%s created: %d by the shim, %d from outside" % (
            kind, n, m))


# ---------------------------------------------------------------------------
# Never harms the target; leaves nothing behind

def bpftool_json(*args):
    p = run(["bpftool", "-j"] + [str(a) for a in args])
    return json.loads(p.stdout or "null") if p.returncode == 0 else None


def target_of(prog):
    """The process a program of timerleak-record's records: target_tgid in
    its read-only data. None if it has none."""
    for m in prog.get("map_ids", []):
        info = bpftool_json("map", "show", "id", m) or {}
        if not info.get("name", "").endswith(".rodata"):
            continue
        for entry in bpftool_json("map", "dump", "id", m) or []:
            for field in entry.get("formatted", {}).get("value", {}).get(".rodata", []):
                if "target_tgid" in field:
                    return field["target_tgid"]
    return None


def our_links(target):
    """Links of timerleak-record's programs recording target still in the
    kernel (another recorder on the machine is not ours to judge)."""
    links = bpftool_json("link", "list")
    if links is None:
        raise Skip("bpftool link list failed")
    names = set()
    for l in links:
        prog = bpftool_json("prog", "show", "id", l.get("prog_id")) or {}
        if prog.get("name") in OUR_PROGS and target_of(prog) == target:
            names.add(prog["name"])
    return sorted(names)


def case_attach_detach():
    need_bpf()
    bare = run([os.path.join(BIN, "preload_threads"), "-t", "2", "-n", "1000", "-L", "3"])
    require(bare.returncode == 0, "preload_threads alone: exit %d" % bare.returncode)
    # It runs until told (SIGUSR1), at most 5 minutes: ten attaches take
    # 40 s here, longer in a sanitized build.
    p = start("busy", [os.path.join(BIN, "preload_threads"), "-t", "2", "-n", "1000", "-L",
                       "300"])
    wait_until("running", lambda: "running" in output("busy"))
    for i in range(10):
        rec = Recorder(p.pid, wpath("busy.%d.tlk" % i), "-d", "0.3")
        t0 = time.monotonic()
        expect("attach %d: recorder's exit status" % i, 0, rec.wait())
        # -d holds however fast the program makes events: detaching takes
        # about 2 s, reading what is left is bounded by the ring buffer.
        took = time.monotonic() - t0
        check(took < 12, "attach %d: -d 0.3 took %.1f s" % (i, took))
        expect("attach %d: the program runs on" % i, None, p.poll())
        # The window ends when the recorder stops, not when its last probe
        # is gone: no event, and no drop, from the seconds of detaching.
        evs = text(run([REPORT, "--events", wpath("busy.%d.tlk" % i)]).stdout).splitlines()
        times = [float(l.split()[0]) for l in evs if re.match(r"^[\d.]+ tid=", l)]
        end = [float(l.split()[0]) for l in evs if re.match(r"^[\d.]+ end ", l)]
        require(times and end, "attach %d: no events or no end record" % i)
        check(max(times) <= end[0] + 0.01, "attach %d: an event at %.3f s, after the end at %.3f s"
              % (i, max(times), end[0]))
        rep = report_json(wpath("busy.%d.tlk" % i))
        check(sum(rep["trace"]["created_by_kind"].values()) > 0,
              "attach %d: no timer recorded" % i)
    expect("probes left attached", [], our_links(p.pid))
    p.send_signal(signal.SIGUSR1)
    p.wait(60)
    expect("the program's exit status", 0, p.returncode)
    got, want = vals(output("busy")), vals(bare.stdout)
    # Every operation's events balanced, as without the recorder.
    for kind in ("gt", "timerfd", "posix"):
        created = "%s_created" % kind
        ended = {"gt": "gt_freed", "timerfd": "timerfd_closed", "posix": "posix_deleted"}[kind]
        check(got.get(created, 0) > 0 and got.get(created) == got.get(ended),
              "%s: %s %r, %s %r" % (kind, created, got.get(created), ended, got.get(ended)))
        check(want.get(created) == want.get(ended), "bare run: %s" % want)


def case_kill9():
    need_bpf()
    p = start("daemon", [td("ok_daemon")])
    wait_until("ready", lambda: "ready" in output("daemon"))
    rec = Recorder(p.pid, wpath("k.tlk"))
    check(our_links(p.pid), "no probe attached while recording")
    rec.p.kill()
    rec.p.wait(30)
    wait_until("the kernel let the probes go", lambda: not our_links(p.pid), 30)
    expect("the daemon runs on", None, p.poll())
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    expect("the daemon's end (SIGTERM)", -signal.SIGTERM, p.returncode)


# ---------------------------------------------------------------------------
# Bad targets, and the command line

def expect_refused(args, code, message):
    p = run([RECORD] + args + ["-o", wpath("bad.tlk")])
    expect("timerleak-record %s: exit status" % " ".join(args), code, p.returncode)
    check(re.search(message, text(p.stderr)), "timerleak-record %s: message %r, expected %r" %
          (" ".join(args), text(p.stderr), message))
    check(not os.path.exists(wpath("bad.tlk")), "a trace was left by a refused run")


def case_bad_pid():
    need_bpf()
    pid = 4194000
    while os.path.exists("/proc/%d" % pid):
        pid += 1
    expect_refused(["-p", str(pid)], 1, r"^timerleak-record: no process %d\n" % pid)


def case_bad_kernel_thread():
    need_bpf()
    expect_refused(["-p", "2"], 1, r"pid 2 \(kthreadd\) is a kernel thread")


def case_bad_self():
    need_bpf()
    p = run(["sh", "-c", 'exec "$0" -p $$ -o "$1"', RECORD, wpath("self.tlk")])
    expect("recording itself: exit status", 1, p.returncode)
    check("is timerleak-record itself" in text(p.stderr), "message: " + text(p.stderr))


def case_serve():
    """--serve: the demo service's metrics served while it is recorded,
    its leaking site rising between two scrapes; a port in use refused
    before anything is attached."""
    need_bpf()
    import urllib.request
    port = free_port()
    p = start("demo", [td("demo_service"), "-t", "60"])
    try:
        trace = wpath("demo.bpf.tlk")
        rec = Recorder(p.pid, trace, "-d", "4", "--serve=127.0.0.1:%d" % port)
        check(rec.said("metrics at http://127.0.0.1:%d/metrics" % port),
              "the recorder does not say where: " + rec.stderr())

        def leaking():
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
                body = r.read().decode()
            for line in body.splitlines():
                if line.startswith("timerleak_live_timers{") and "stream_progress" in line:
                    return float(line.rsplit(" ", 1)[1])
            return 0.0
        time.sleep(1)
        first = leaking()
        time.sleep(1.5)
        second = leaking()
        log("stream_progress live tickers: %s, then %s" % (first, second))
        check(second > first > 0, "the leaking site did not rise: %s, then %s" % (first, second))
        with urllib.request.urlopen("http://127.0.0.1:%d/report.json" % port, timeout=10) as r:
            live = json.loads(r.read().decode())
        check(any(f["pattern"] == "never-stopped-ticker" and f["severity"] == "leak"
                  for f in live["findings"]), "/report.json while recording: %s" % live["summary"])
        # A second recorder on the same port: refused before attaching.
        r = run([RECORD, "-p", str(p.pid), "-o", wpath("second.tlk"), "-d", "1",
                 "--serve=127.0.0.1:%d" % port])
        expect("port in use: exit status", 2, r.returncode)
        check("Address already in use" in text(r.stderr), "port in use: " + text(r.stderr))
        check(not os.path.exists(wpath("second.tlk")), "a trace was left")
        expect("recorder's exit status", 0, rec.wait())
    finally:
        p.kill()
        p.wait()
    rep = report_json(trace)
    check(rep["trace"]["complete"], "the served recording's trace is not complete")


def metrics_pids(port):
    """The pids /metrics has series of, and the body."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        body = r.read().decode()
    return set(int(p) for p in re.findall(r'^timerleak_live_timers\{pid="(\d+)"', body,
                                          re.M)), body


def case_fleet():
    """-x EXE --serve: every process of a program recorded, each into its
    own trace, its series in /metrics under its pid; one started later is
    found; one that ends leaves /metrics, the others stay; the profile
    merges them (label pid) or takes ?pid=P; timerleak serve reads the
    finished traces back together."""
    need_bpf()
    import urllib.error
    import urllib.request
    # A copy of its own: other tests' demo services are other files.
    exe = wpath("fleet_service")
    shutil.copy(td("demo_service"), exe)
    procs = [start("fleet%d" % i, [exe, "-t", "60"]) for i in range(2)]
    port = free_port()
    out = wpath("traces")
    shutil.rmtree(out, ignore_errors=True)
    err = open(wpath("fleet.err"), "w+")
    # -p names one that -x finds too: recorded once.
    cmd = [RECORD, "-x", exe, "-p", str(procs[0].pid), "-o", out,
           "--serve", "127.0.0.1:%d" % port]  # the address as its own word
    log("$ " + " ".join(cmd) + " &")
    rec = subprocess.Popen(cmd, env=clean_env(), cwd=WORK, stdout=subprocess.DEVNULL, stderr=err)

    def said():
        err.seek(0)
        return err.read()
    try:
        want = set(p.pid for p in procs)
        wait_until("both processes served", lambda: want <= metrics_pids_or_none(port), 20)
        # The program is upgraded (a new file at its path): a process of
        # the new one is followed too.
        shutil.copy(td("demo_service"), exe + ".new")
        os.replace(exe + ".new", exe)
        procs.append(start("fleet2", [exe, "-t", "60"]))
        wait_until("the process started later served",
                   lambda: procs[2].pid in metrics_pids(port)[0], 10)
        time.sleep(2)
        pids, body = metrics_pids(port)
        for p in procs:
            check(re.search(r'^timerleak_live_timers\{pid="%d",exe="fleet_service",kind="ticker",'
                            r'site="stream_progress [^"]*demo_service\.c:\d+"\} [1-9]' % p.pid,
                            body, re.M), "no leaking site of pid %d:\n%s" % (p.pid, body))
        check(re.search(r"^timerleak_targets 3$", body, re.M), "timerleak_targets:\n" + body)
        # One ends: its series go, the others' stay.
        procs[0].send_signal(signal.SIGTERM)
        procs[0].wait()
        wait_until("the ended process's series gone",
                   lambda: procs[0].pid not in metrics_pids(port)[0], 10)
        expect("the others' series", {procs[1].pid, procs[2].pid}, metrics_pids(port)[0])
        base = "http://127.0.0.1:%d" % port
        with urllib.request.urlopen(base + "/debug/pprof/timers", timeout=30) as r:
            merged = r.read()
        with open(wpath("merged.pb.gz"), "wb") as f:
            f.write(merged)
        with urllib.request.urlopen(base + "/debug/pprof/timers?pid=%d" % procs[1].pid,
                                    timeout=30) as r:
            one = r.read()
        check(len(one) < len(merged), "?pid=P is not one process's: %d vs %d bytes"
              % (len(one), len(merged)))
        go = E.get("TL_GO") or shutil.which("go") or "/usr/lib/go/bin/go"
        if os.path.exists(go) or shutil.which(go):
            p = run([go, "tool", "pprof", "-tags", wpath("merged.pb.gz")],
                    env=dict(clean_env(), HOME=wpath("home")))
            tags = text(p.stdout)
            for pr in procs[1:]:
                check(re.search(r"^\s+\S+ \(.*\): %d$" % pr.pid, tags, re.M),
                      "go tool pprof -tags: no pid %d:\n%s" % (pr.pid, tags + text(p.stderr)))
        try:
            urllib.request.urlopen(base + "/report.json", timeout=10)
            fail("/report.json of two processes without ?pid= answered")
        except urllib.error.HTTPError as e:
            expect("/report.json of two processes", 400, e.code)
        with urllib.request.urlopen(base + "/report.json?pid=%d" % procs[2].pid,
                                    timeout=10) as r:
            expect("/report.json?pid=P", procs[2].pid, json.loads(r.read())["process"]["pid"])
        rec.send_signal(signal.SIGINT)
        expect("recorder's exit status", 0, rec.wait(60))
    finally:
        if rec.poll() is None:
            rec.kill()
        for p in procs:
            p.kill()
            p.wait()
    log(said())
    check("exists" not in said() and "-2.tlk" not in said(),
          "a process recorded twice: " + said())
    traces = sorted(os.listdir(out))
    expect("traces", ["timerleak.fleet_service.%d.tlk" % p.pid for p in sorted(
        procs, key=lambda p: "%d" % p.pid)], traces)
    for t in traces:
        rep = report_json(os.path.join(out, t))
        check(rep["trace"]["complete"], t + " is not complete")
        check(any(f["pattern"] == "never-stopped-ticker" for f in rep["findings"]),
              t + ": no leak found")
    # The finished traces, served together.
    port = free_port()
    cmd = [REPORT, "--serve=127.0.0.1:%d" % port] + [os.path.join(out, t) for t in traces]
    log("$ " + " ".join(cmd) + " &")
    srv = subprocess.Popen(cmd, env=clean_env(), cwd=WORK, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_until("timerleak serve of three traces",
                   lambda: len(metrics_pids_or_none(port)) == 3, 20)
    finally:
        srv.terminate()
        srv.wait()


def metrics_pids_or_none(port):
    try:
        return metrics_pids(port)[0]
    except OSError:
        return set()


def case_rotate():
    """--rotate-size 16K --keep 2 --serve: the trace goes on in new files,
    each a whole trace of its own (complete, the process, the leak at its
    line in the newest), at most 2 old ones kept, none much past its size;
    the served metrics read on across the files: the leaking site's
    created counter never falls and ends above what any one file holds."""
    need_bpf()
    port = free_port()
    p = start("rotate", [td("demo_service"), "-t", "60"])
    trace = wpath("rot.tlk")
    for f in os.listdir(WORK):
        if f.startswith("rot.") and f.endswith(".tlk"):
            os.unlink(wpath(f))
    created = []
    try:
        rec = Recorder(p.pid, trace, "-d", "8", "--rotate-size", "16K", "--keep", "2",
                       "--serve=127.0.0.1:%d" % port)
        while rec.p.poll() is None:
            time.sleep(1)
            try:
                body = metrics_pids(port)[1]
            except OSError:
                break
            m = re.search(r'^timerleak_created_timers_total\{[^}]*site="stream_progress '
                          r'[^}]*\} (\d+)$', body, re.M)
            if m:
                created.append(int(m.group(1)))
        expect("recorder's exit status", 0, rec.wait())
    finally:
        p.kill()
        p.wait()
    log("stream_progress created, scrape by scrape: %s" % created)
    require(len(created) >= 4, "too few scrapes: %s" % created)
    check(created == sorted(created), "the counter fell across a rotation: %s" % created)
    m = re.search(r"\(and (\d+) earlier files?", rec.stderr())
    require(m, "the recorder does not say it rotated: " + rec.stderr())
    rotated = int(m.group(1))
    check(rotated >= 3, "only %d rotations in 8 s at 16K" % rotated)
    parts = sorted(f for f in os.listdir(WORK) if re.fullmatch(r"rot\.\d+\.tlk", f))
    expect("files kept", ["rot.%d.tlk" % n for n in sorted((rotated - 1, rotated), key=str)],
           parts)
    most = 0
    for f in parts + ["rot.tlk"]:
        size = os.path.getsize(wpath(f))
        check(size < 2 * 16384, "%s: %d bytes, past twice its size" % (f, size))
        rep = report_json(wpath(f))
        check(rep["trace"]["complete"], f + " is not complete")
        expect(f + ": pid", p.pid, rep["process"]["pid"])
        check(rep["trace"].get("attached"), f + " does not say it was attached")
        # stream_progress's are among the tickers
        most = max(most, rep["trace"]["created_by_kind"].get("ticker", 0))
        if f == "rot.tlk":
            check(any(x["pattern"] == "never-stopped-ticker" for x in rep["findings"]),
                  "the newest file alone does not show the leak")
    log("most stream_progress timers in one file: %d; served: %d" % (most, created[-1]))
    check(created[-1] > most, "the served counter (%d) is no more than one file's (%d)"
          % (created[-1], most))


def case_prometheus():
    """Debian's Prometheus scrapes timerleak-record -x --serve while two
    copies of the demo service run: each one's leaking site rises in
    Prometheus, at its pid and line, its healthy ticker stays flat; when one
    ends its series go stale in Prometheus, the other's go on."""
    need_bpf()
    prom = shutil.which("prometheus")
    if not prom:
        raise Skip("no prometheus (scripts/setup installs it)")
    import urllib.parse
    import urllib.request
    exe = wpath("prom_service")
    shutil.copy(td("demo_service"), exe)
    # Paused before main(), so that their start-up is recorded too: the
    # healthy ticker is made there.
    procs = [start("prom%d" % i, [exe, "-t", "90"], paused=True) for i in range(2)]
    port, pport = free_port(), free_port()
    out = wpath("traces")
    shutil.rmtree(out, ignore_errors=True)
    bg = []

    def background(name, cmd):
        f = open(wpath(name + ".err"), "w")
        log("$ " + " ".join(cmd) + " &")
        bg.append(subprocess.Popen(cmd, env=clean_env(), cwd=WORK, stdout=f,
                                   stderr=subprocess.STDOUT))

    def query(q):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (pport, urllib.parse.urlencode({"query": q}))
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())["data"]["result"]
        except OSError:
            return []

    def by_pid(result):
        return {int(x["metric"]["pid"]): float(x["value"][1]) for x in result}
    try:
        background("record", [RECORD, "-x", exe, "-o", out, "--serve=127.0.0.1:%d" % port])
        for p in procs:
            wait_until("pid %d recorded" % p.pid,
                       lambda: "recording pid %d " % p.pid in open(wpath("record.err")).read())
            p.send_signal(signal.SIGCONT)
        with open(wpath("prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: timerleak\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % port)
        background("prometheus", [prom, "--config.file=" + wpath("prometheus.yml"),
                                  "--storage.tsdb.path=" + wpath("tsdb"),
                                  "--web.listen-address=127.0.0.1:%d" % pport])
        leak = 'timerleak_live_timers{site=~"stream_progress .*"}'
        healthy = 'timerleak_live_timers{site=~"housekeeping_ticker .*"}'
        pids = {p.pid for p in procs}
        wait_until("Prometheus has both services' series",
                   lambda: set(by_pid(query(leak))) == pids and
                   set(by_pid(query(healthy))) == pids, 60)
        time.sleep(6)
        rise, flat = by_pid(query("delta(%s[5s])" % leak)), by_pid(query("delta(%s[5s])" % healthy))
        log("delta over 5 s: leaking %s, healthy %s" % (rise, flat))
        for pid in pids:
            check(rise.get(pid, 0) > 10, "pid %d's leaking site did not rise: %s" % (pid, rise))
            expect("pid %d's healthy site's change" % pid, 0.0, flat.get(pid))
        site = query(leak)[0]["metric"]["site"]
        check(re.fullmatch(r"stream_progress demo_service\.c:\d+", site), "site label: " + site)
        # One service ends: its series stop (stale in Prometheus), the other's go on.
        procs[0].send_signal(signal.SIGTERM)
        procs[0].wait()
        wait_until("the ended service's series stale in Prometheus",
                   lambda: set(by_pid(query(leak))) == {procs[1].pid}, 20)
        before = by_pid(query(leak))[procs[1].pid]
        time.sleep(3)
        check(by_pid(query(leak)).get(procs[1].pid, 0) > before,
              "the other service's leak stopped rising with the first's end")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for b in reversed(bg):
            b.send_signal(signal.SIGINT)
            try:
                b.wait(30)
            except subprocess.TimeoutExpired:
                b.kill()
                b.wait()
    expect("recorder's exit status", 0, bg[0].returncode)
    with open(wpath("record.err")) as f:
        log(f.read())


def case_several_pids():
    """-p A,B,C: two processes recorded into a directory, each its own
    whole trace; a pid that is no process is said, and the exit status
    says so, the others' traces written all the same."""
    need_bpf()
    procs = [start("pids%d" % i, [td("demo_service"), "-t", "30"]) for i in range(2)]
    out = wpath("traces")
    shutil.rmtree(out, ignore_errors=True)
    try:
        r = run([RECORD, "-p", "%d,%d,999999999" % (procs[0].pid, procs[1].pid), "-d", "3",
                 "-o", out])
        # The wrapper's --report: a report of each.
        w = run([WRAPPER, "record", "-p", "%d,%d" % (procs[0].pid, procs[1].pid), "-d", "2",
                 "-o", wpath("traces2"), "--report", "--fail-on=leak"])
        # A trace that exists is refused: no report of it.
        shutil.copy(os.path.join(out, "timerleak.demo_service.%d.tlk" % procs[0].pid),
                    wpath("old.tlk"))
        stale = run([WRAPPER, "record", "-p", str(procs[0].pid), "-d", "1", "-o",
                     wpath("old.tlk"), "--report"])
    finally:
        for p in procs:
            p.kill()
            p.wait()
    log(text(w.stdout) + text(w.stderr))
    log(text(stale.stdout) + text(stale.stderr))
    expect("timerleak record -o EXISTING --report: exit status", 1, stale.returncode)
    check("timerleak report:" not in text(stale.stdout),
          "the report of a trace this recording did not write:\n" + text(stale.stdout))
    expect("timerleak record --report --fail-on=leak of two leaking services", 1, w.returncode)
    for p in procs:
        check(re.search(r"^timerleak report: .*timerleak\.demo_service\.%d\.tlk" % p.pid,
                        text(w.stdout), re.M), "no report of pid %d" % p.pid)
    log(text(r.stderr))
    expect("exit status with a pid that is no process", 1, r.returncode)
    check("no process 999999999" in text(r.stderr), "not said: " + text(r.stderr))
    for p in procs:
        t = os.path.join(out, "timerleak.demo_service.%d.tlk" % p.pid)
        rep = report_json(t)
        check(rep["trace"]["complete"], t + " is not complete")
        expect(t + ": pid", p.pid, rep["process"]["pid"])


def case_bad_exits():
    """A process that exits while recorded: the trace ends there, whole
    (and a buffer size that is not a power of two is made one)."""
    need_bpf()
    trace, v = bpf("exits", [td("leak_ticker"), "-n", "20", "-l", "10"], opts=["--buffer", "3"])
    rep = report_json(trace)
    expect("complete", True, rep["trace"]["complete"])
    expect("tickers", v.get("tickers_created"), rep["trace"]["created_by_kind"].get("ticker"))


def case_bad_exit_detaching():
    """A process killed while the recorder detaches, after the recording
    stopped: the trace ends when the recording did, not by that signal,
    and the summary does not say the process exited."""
    need_bpf()
    p = start("late", [td("demo_service"), "-t", "60"])
    try:
        rec = Recorder(p.pid, wpath("late.tlk"))
        time.sleep(1)
        rec.p.send_signal(signal.SIGINT)
        time.sleep(0.2)  # taking the probes down takes longer than this
        p.kill()
        expect("recorder's exit status", 0, rec.wait())
    finally:
        p.kill()
        p.wait()
    check(not rec.said("the process exited"), "said exited: " + rec.stderr())
    rep = report_json(wpath("late.tlk"))
    expect("complete", True, rep["trace"]["complete"])
    expect("ended_by_signal", None, rep["trace"].get("ended_by_signal"))


def case_bad_disk_full():
    """--rotate-size onto a disk that fills: the recording ends with a clear
    error (exit 1), never a crash; every file left is a whole trace that
    reads, none empty."""
    need_bpf()
    small = wpath("small")
    os.makedirs(small, exist_ok=True)
    subprocess.run(["umount", small], stderr=subprocess.DEVNULL)
    require(subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", small]).returncode
            == 0, "cannot mount a small tmpfs")
    try:
        p = start("full", [td("demo_service"), "-t", "60"])
        try:
            r = run([RECORD, "-p", str(p.pid), "-o", os.path.join(small, "t.tlk"),
                     "--rotate-size", "16K", "-d", "30"], timeout=60)
        finally:
            p.kill()
            p.wait()
        log(text(r.stderr))
        expect("exit status on a full disk", 1, r.returncode)
        check("no space left" in text(r.stderr), "no clear error: " + text(r.stderr))
        files = sorted(os.listdir(small))
        log("left: %s" % files)
        require(len(files) >= 3, "too few files: %s" % files)
        for f in files:
            path = os.path.join(small, f)
            check(os.path.getsize(path) > 0, f + " is empty")
            if re.fullmatch(r"t\.\d+\.tlk", f):
                expect(f + ": complete", True, report_json(path)["trace"]["complete"])
    finally:
        subprocess.run(["umount", small])


def case_bad_killed():
    """A service killed with SIGKILL while recorded: the trace is whole,
    and the report says how it ended, without the shim's caveats."""
    need_bpf()
    p = start("daemon", [td("leak_daemon"), "-i", "5"])
    wait_until("ready", lambda: "ready" in output("daemon"))
    trace = wpath("killed.tlk")
    rec = Recorder(p.pid, trace)
    time.sleep(1)
    p.kill()
    p.wait(30)
    expect("recorder's exit status", 0, rec.wait())
    check(rec.said("the process exited"), "the recorder did not see the process go")
    rep = report_json(trace)
    expect("complete", True, rep["trace"]["complete"])
    expect("ended_by_signal", "SIGKILL", rep["trace"]["ended_by_signal"])
    out = text(run([REPORT, trace]).stdout)
    check(re.search(r"^  ended     by SIGKILL \(seen from outside: nothing was cut short\)$", out,
                    re.M), "no ended line:\n" + out)


def case_usage():
    for args, code, message in ((["-h"], 0, r"usage: timerleak-record -p PID"),
                                ([], 2, r"which process\? -p PID"),
                                (["-p", "x"], 2, r"-p takes process ids, not x"),
                                (["-p", "1,x"], 2, r"-p takes process ids, not 1,x"),
                                (["-x", "/no/such/program"], 2,
                                 r"-x /no/such/program: no such file"),
                                (["-p", "1", "--keep", "2"], 2, r"--keep counts the files"),
                                (["-p", "1", "--rotate-size", "1K"], 2,
                                 r"--rotate-size takes a size from 16K"),
                                (["-p", "1,2", "-o", os.path.join(SOURCE, "README.md")], 2,
                                 r"with several processes or -x, -o names a directory"),
                                (["-p", "1", "-d", "0"], 2, r"-d takes a number of seconds"),
                                (["-p", "1", "--depth", "500"], 2, r"--depth takes 1 to 128"),
                                (["--version"], 0, r"^timerleak-record \S+ \(trace format \d+\.\d+\)")):
        p = run([RECORD] + args)
        expect("timerleak-record %s: exit status" % " ".join(args), code, p.returncode)
        out = text(p.stdout) + text(p.stderr)
        check(re.search(message, out, re.M), "timerleak-record %s: %r" % (" ".join(args), out))
    # The man page documents every option of --help.
    with open(os.path.join(SOURCE, "docs", "man", "timerleak-record.1")) as f:
        page = f.read().replace("\\-", "-")
    opts = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", text(run([RECORD, "-h"]).stdout), re.M))
    require(len(opts) >= 8, "options in --help: %s" % opts)
    for o in sorted(opts):
        check(o in page, "timerleak-record.1 does not document " + o)
    with open(wpath("taken.tlk"), "w") as f:
        f.write("mine")
    if os.geteuid() == 0 and os.path.exists("/sys/kernel/btf/vmlinux"):
        p = run([RECORD, "-p", str(os.getpid()), "-o", wpath("taken.tlk")])
        if "no BPF program" not in text(p.stderr):
            expect("-o an existing file: exit status", 1, p.returncode)
            check("exists: choose another -o FILE, or --force" in text(p.stderr),
                  "-o an existing file: " + text(p.stderr))
            with open(wpath("taken.tlk")) as f:
                expect("-o an existing file: left as it was", "mine", f.read())


def case_wrapper():
    need_bpf()
    p = start("daemon", [td("leak_daemon"), "-i", "5"])
    wait_until("ready", lambda: "ready" in output("daemon"))
    r = run([WRAPPER, "record", "-p", str(p.pid), "-d", "1.5", "-o", wpath("w.tlk"),
             "--report"])
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    expect("timerleak record: exit status", 0, r.returncode)
    out = text(r.stdout)
    check("timerleak report: " in out and "never-stopped ticker" in out,
          "no report after detaching:\n" + out + text(r.stderr))


CASES = {"td." + p: (lambda p: lambda: case_td(p))(p) for p in TD}
CASES.update({
    "daemon.leak": lambda: attached_daemon("leak_daemon", True),
    "daemon.ok": lambda: attached_daemon("ok_daemon", False),
    "demo": case_demo,
    "both_ways": case_both_ways,
    "attach_detach": case_attach_detach,
    "kill9": case_kill9,
    "bad.pid": case_bad_pid,
    "bad.exits": case_bad_exits,
    "bad.kernel_thread": case_bad_kernel_thread,
    "bad.self": case_bad_self,
    "bad.killed": case_bad_killed,
    "bad.exit_detaching": case_bad_exit_detaching,
    "bad.disk_full": case_bad_disk_full,
    "serve": case_serve,
    "fleet": case_fleet,
    "several_pids": case_several_pids,
    "rotate": case_rotate,
    "prometheus": case_prometheus,
    "usage": case_usage,
    "wrapper": case_wrapper,
})


def main(cases=None, name="record_test.py"):
    """Run the case argv[1] names, of cases (this file's by default)."""
    return run_case(cases or CASES, name, WORK, bool(RECORD))

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""serve_test.py - timerleak-report --serve: a trace followed as its
recorder writes it, its metrics scraped by a real Prometheus.

Usage: serve_test.py CASE   (tests/serve.cmake registers each as serve.CASE)

The cases:
  prometheus   the demo service recorded under the shim, served by the
               wrapper's `timerleak serve`; go tool pprof reads the live
               profile, -base between two fetches shows the leak; Debian's
               Prometheus
               scrapes the server each second: the leaking site's
               timerleak_live_timers rises, the healthy one's stays flat; the
               service is stopped and the series keeps its last value
  bad          /report and /report.json; a port in use, an address that is not one, an unknown path, a
               method other than GET, a request that never ends, a client
               gone without a word: clear statuses, the server runs on

Environment (tests/serve.cmake): TL_REPORT, TL_PRELOAD, TL_DEMO, TL_WRAPPER,
TL_WORK.
Exit 77 (skipped) without a prometheus binary (scripts/setup installs it).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlcheck import (Fatal, Skip, check, clean_env, expect, free_port, log, require,  # noqa: E402
                     run_case)

E = os.environ
REPORT = E.get("TL_REPORT", "")
PRELOAD = E.get("TL_PRELOAD", "")
DEMO = E.get("TL_DEMO", "")
WRAPPER = E.get("TL_WRAPPER", "")
WORK = E.get("TL_WORK", "")


def wpath(*p):
    return os.path.join(WORK, *p)


def wait_until(what, cond, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return
        time.sleep(0.1)
    raise Fatal("%s: not within %d s" % (what, seconds))


def get(url, method="GET"):
    """(status, body) of url."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError):
        return 0, ""  # nobody listens (yet)


class Proc:
    def __init__(self, name, cmd, env=None):
        self.name = name
        self.out = open(wpath(name + ".out"), "w+")
        log("$ " + " ".join(cmd) + " &")
        self.p = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, cwd=WORK,
                                  env=env or clean_env())

    def output(self):
        self.out.seek(0)
        return self.out.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


# In a sanitized build the demo's sanitizer wants to come first, and need
# not before the preloaded shim.
PRELOAD_ASAN = ":".join(o for o in (E.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if o)


def demo(trace):
    return Proc("demo", [DEMO, "-t", "60"], env=clean_env(
        LD_PRELOAD=PRELOAD, TIMERLEAK_OUTPUT=trace, TIMERLEAK_QUIET="1",
        ASAN_OPTIONS=PRELOAD_ASAN))


def serve(trace, port, wrapper=False):
    """The server: timerleak-report --serve, or the wrapper's timerleak serve."""
    s = Proc("serve", [WRAPPER, "serve", "--listen", "127.0.0.1:%d" % port, trace] if wrapper
             else [REPORT, "--serve=127.0.0.1:%d" % port, trace])
    wait_until("the server", lambda: "metrics at http://" in s.output() or
               s.p.poll() is not None)
    require(s.p.poll() is None, "timerleak-report --serve ended: " + s.output())
    return s


def series(metrics, name, site_part):
    """The value of metric name for the site whose label holds site_part."""
    for line in metrics.splitlines():
        if line.startswith(name + "{") and site_part in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def case_prometheus():
    prom = shutil.which("prometheus")
    if not prom:
        raise Skip("no prometheus (scripts/setup installs it)")
    trace = wpath("demo.tlk")
    port, pport = free_port(), free_port()
    d = demo(trace)
    procs = [d]
    try:
        wait_until("the demo's trace", lambda: os.path.exists(trace) and
                   os.path.getsize(trace) > 0)
        s = serve(trace, port, wrapper=True)
        procs.append(s)
        with open(wpath("prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: timerleak\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % port)
        p = Proc("prometheus", [prom, "--config.file=" + wpath("prometheus.yml"),
                                "--storage.tsdb.path=" + wpath("tsdb"),
                                "--web.listen-address=127.0.0.1:%d" % pport])
        procs.append(p)
        api = "http://127.0.0.1:%d/api/v1/" % pport

        def query(q):
            st, body = get(api + "query?" + urllib.parse.urlencode({"query": q}))
            if st != 200:
                return []
            return json.loads(body)["data"]["result"]

        leak = 'timerleak_live_timers{site=~"stream_progress .*"}'
        healthy = 'timerleak_live_timers{site=~"housekeeping_ticker .*"}'
        wait_until("Prometheus has the leaking series",
                   lambda: query(leak) and query(healthy), 60)
        time.sleep(6)
        rise = query("delta(%s[5s])" % leak)
        flat = query("delta(%s[5s])" % healthy)
        log("delta over 5 s: leaking %s, healthy %s" % (rise, flat))
        require(rise and flat, "no delta from Prometheus")
        check(float(rise[0]["value"][1]) > 10, "the leaking site did not rise: %s" % rise)
        expect("the healthy site's change", 0.0, float(flat[0]["value"][1]))
        found = query('timerleak_findings{pattern="never-stopped-ticker",severity="leak"}')
        check(found and float(found[0]["value"][1]) >= 1,
              "Prometheus has no never-stopped-ticker leak: %s" % found)
        lbl = query(leak)[0]["metric"]
        expect("labels", ["__name__", "exe", "instance", "job", "kind", "pid", "site"],
               sorted(lbl))
        expect("exe label", "demo_service", lbl["exe"])
        expect("kind label", "ticker", lbl["kind"])
        pprof_fetch(port)
        # The service stops: the trace ends, the last values stay served.
        d.stop()
        time.sleep(1.5)
        st, body = get("http://127.0.0.1:%d/metrics" % port)
        expect("/metrics after the service ended", 200, st)
        check(series(body, "timerleak_live_timers", "stream_progress") is not None,
              "the leaking series went away with the service:\n" + body[:2000])
        check(s.p.poll() is None, "the server ended with the service")
    finally:
        for pr in reversed(procs):
            pr.stop()
    expect("server's exit status on SIGTERM", 0, procs[1].p.returncode)


def pprof_fetch(port):
    """go tool pprof reads the live profile, and -base between two fetches
    shows what grew: the leaking site."""
    go = E.get("TL_GO") or shutil.which("go") or "/usr/lib/go/bin/go"
    if not shutil.which(go) and not os.path.exists(go):
        log("no go: the live profile is not read by go tool pprof here")
        return
    url = "http://127.0.0.1:%d/debug/pprof/timers" % port
    env = dict(os.environ, HOME=wpath("home"), PPROF_TMPDIR=wpath("pprof"))
    files = []
    for i in range(2):
        files.append(wpath("timers%d.pb.gz" % i))
        st, _ = get(url)
        expect("GET /debug/pprof/timers", 200, st)
        with urllib.request.urlopen(url, timeout=10) as r, open(files[-1], "wb") as f:
            f.write(r.read())
        time.sleep(2)
    p = subprocess.run([go, "tool", "pprof", "-top", url], capture_output=True, text=True,
                       timeout=60, env=env)
    expect("go tool pprof URL: exit status", 0, p.returncode)
    check("stream_progress" in p.stdout, "go tool pprof URL:\n" + p.stdout + p.stderr)
    p = subprocess.run([go, "tool", "pprof", "-top", "-sample_index=inuse_objects", "-base",
                        files[0], files[1]], capture_output=True, text=True, timeout=60, env=env)
    expect("go tool pprof -base: exit status", 0, p.returncode)
    grew = [l for l in p.stdout.splitlines() if l.rstrip().endswith("stream_progress")]
    check(grew and not grew[0].split()[0].startswith("-") and grew[0].split()[0] != "0",
          "-base between two fetches: the leaking site did not grow:\n" + p.stdout)
    # A delta profile: what was created in the last 2 s, fewer than in all.
    def created(args):
        q = subprocess.run([go, "tool", "pprof", "-top", "-sample_index=alloc_objects"] + args +
                           [url], capture_output=True, text=True, timeout=60, env=env)
        expect("go tool pprof %s: exit status" % " ".join(args), 0, q.returncode)
        for line in q.stdout.splitlines():
            if line.rstrip().endswith("stream_progress"):
                return int(float(line.split()[0]))
        return 0
    total, recent = created([]), created(["-seconds", "2"])
    log("stream_progress tickers created: %d in all, %d in the last 2 s" % (total, recent))
    check(0 < recent < total, "delta profile: %d of %d" % (recent, total))
    for bad in ("0", "61", "x"):
        expect("?seconds=%s" % bad, 400, get(url + "?seconds=" + bad)[0])


def case_bad():
    trace = wpath("demo.tlk")
    port = free_port()
    d = demo(trace)
    procs = [d]
    try:
        wait_until("the demo's trace", lambda: os.path.exists(trace) and
                   os.path.getsize(trace) > 0)
        s = serve(trace, port)
        procs.append(s)
        # A second server on the same port: refused, said, exit 2.
        p = subprocess.run([REPORT, "--serve=127.0.0.1:%d" % port, trace],
                           capture_output=True, text=True, timeout=30)
        expect("port in use: exit status", 2, p.returncode)
        check("127.0.0.1:%d: Address already in use" % port in p.stderr,
              "port in use: %r" % p.stderr)
        p = subprocess.run([REPORT, "--serve=nowhere", trace], capture_output=True, text=True,
                           timeout=30)
        expect("not HOST:PORT: exit status", 2, p.returncode)
        check("not HOST:PORT" in p.stderr, "not HOST:PORT: %r" % p.stderr)
        with open(wpath("not.tlk"), "w") as f:
            f.write("this is no trace, and long enough to hold a trace's header\n")
        p = subprocess.run([REPORT, "--serve=127.0.0.1:0", wpath("not.tlk")], capture_output=True,
                           text=True, timeout=30)
        expect("not a trace: exit status", 2, p.returncode)
        check("not a timerleak trace" in p.stderr, "not a trace: %r" % p.stderr)
        base = "http://127.0.0.1:%d" % port
        expect("unknown path", 404, get(base + "/debug/nothing")[0])
        # The report of what was recorded so far: the demo's leak, once
        # it has grown enough to be judged.
        wait_until("/report has the leak", lambda: "never-stopped ticker" in
                   get(base + "/report")[1], 30)
        st, body = get(base + "/report")
        expect("/report", 200, st)
        st, body = get(base + "/report.json")
        expect("/report.json", 200, st)
        check(any(f["pattern"] == "never-stopped-ticker" for f in json.loads(body)["findings"]),
              "/report.json: " + body[:1500])
        expect("a query on /report", 400, get(base + "/report?x=1")[0])
        expect("a query on /metrics", 200, get(base + "/metrics?seconds=bad")[0])
        expect("POST", 405, get(base + "/metrics", "POST")[0])
        expect("HEAD", 200, get(base + "/metrics", "HEAD")[0])
        # A client that sends half a request and waits; one that connects
        # and leaves; one that sends garbage.
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /metr")
        gone = socket.create_connection(("127.0.0.1", port))
        gone.close()
        junk = socket.create_connection(("127.0.0.1", port))
        junk.sendall(b"\x00\x01\x02\r\n\r\n")
        reply = junk.recv(100)
        check(reply.startswith(b"HTTP/1.1 400"), "garbage: %r" % reply)
        junk.close()
        # The slow client holds no one up: others are answered at once.
        t0 = time.monotonic()
        st, _ = get(base + "/metrics")
        took = time.monotonic() - t0
        expect("/metrics while a client sends half a request", 200, st)
        check(took < 1.0, "/metrics waited %.2f s behind a slow client" % took)
        # Nor does one that asks for the profile and reads none of it.
        lazy = socket.create_connection(("127.0.0.1", port))
        lazy.sendall(b"GET /debug/pprof/timers HTTP/1.0\r\n\r\n")
        t0 = time.monotonic()
        st, _ = get(base + "/report")
        took = time.monotonic() - t0
        expect("/report while a client reads nothing", 200, st)
        check(took < 1.0, "/report waited %.2f s behind a client that reads nothing" % took)
        lazy.close()
        time.sleep(2.5)  # the half request times out
        check(slow.recv(100) == b"", "the half request was not dropped")
        slow.close()
        # A client that reads nothing and closes mid-response.
        for _ in range(5):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            c.close()
        st, body = get(base + "/metrics")
        expect("after the bad clients: /metrics", 200, st)
        check("timerleak_live_timers{" in body, "no series: " + body[:500])
        check(s.p.poll() is None, "the server ended")
    finally:
        for pr in reversed(procs):
            pr.stop()


CASES = {"prometheus": case_prometheus, "bad": case_bad}


def main():
    return run_case(CASES, "serve_test.py", WORK, bool(REPORT))

if __name__ == "__main__":
    sys.exit(main())

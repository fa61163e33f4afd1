"""tlcheck.py - what the end-to-end test scripts (analyzer_test.py,
pprof_test.py) share: expectations that list every broken one instead of
stopping at the first, and a clean environment for the commands they run.

A case calls check/expect as often as it can; `failures` holds what broke.
Fatal stops a case that cannot go on, Skip one the machine cannot run.
"""
import os
import re

failures = []


class Fatal(Exception):
    """A failure after which the case cannot go on."""


class Skip(Exception):
    """The machine lacks what the case needs."""


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def check(cond, msg):
    if not cond:
        fail(msg)
    return bool(cond)


def expect(what, want, got):
    return check(want == got, "%s: expected %r, got %r" % (what, want, got))


def expect_range(what, lo, hi, got):
    return check(isinstance(got, (int, float)) and lo <= got <= hi,
                 "%s: expected %r to %r, got %r" % (what, lo, hi, got))


def require(cond, msg):
    if not cond:
        raise Fatal(msg)


def log(msg):
    print(msg, flush=True)


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def clean_env(**extra):
    """The environment without anything of a recorder already around us,
    plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TIMERLEAK_") and k not in ("LD_PRELOAD", "GOTIMER_CHAN")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def find_call(path, func, call):
    """The first `call` in the definition of func in the C file at path:
    its line number and text, read from the source, not copied from a tool.
    The call itself, not a longer name that ends with it (the function
    uptime_timer_create( holds timer_create()."""
    with open(path) as f:
        lines = f.read().split("\n")
    start = None
    for i, line in enumerate(lines):
        if re.match(r"^[A-Za-z_].*\b%s\(" % re.escape(func), line) and \
                not line.rstrip().endswith(";"):
            start = i
            break
    require(start is not None, "no definition of %s in %s" % (func, path))
    pat = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(call))
    for i in range(start, len(lines)):
        if pat.search(lines[i]):
            return i + 1, lines[i].strip()
        if i > start and lines[i].startswith("}"):
            break
    raise Fatal("no %s in %s in %s" % (call, func, path))


def run_case(cases, name, work, ready=True):
    """Run the case sys.argv[1] names, of cases, in a fresh directory work:
    exit status 0 pass, 1 fail, 77 skipped, 2 usage. ready: the
    environment the cases need is there (else a usage error: run from
    ctest)."""
    import shutil
    import sys
    import time
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        print("usage: %s CASE\ncases: %s" % (name, " ".join(sorted(cases))), file=sys.stderr)
        return 2
    if not work or not ready:
        print("%s: run it from ctest" % name, file=sys.stderr)
        return 2
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    t0 = time.time()
    try:
        cases[sys.argv[1]]()
    except Skip as e:
        log("%s: skipped: %s" % (sys.argv[1], e))
        return 77
    except Fatal as e:
        fail(str(e))
    except Exception:
        import traceback
        traceback.print_exc()
        fail("unexpected error (above)")
    log("%s: %s in %.1f s" % (sys.argv[1], "FAILED (%d)" % len(failures) if failures else "ok",
                              time.time() - t0))
    return 1 if failures else 0

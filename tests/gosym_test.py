#!/usr/bin/env python3
"""gosym_test.py - bpf/gosym.c (through tests/gosym_dump) against Go's own
tools, on a Go program built here with the machine's Go (tests/gosym_go),
plain and with -ldflags='-s -w' (no .symtab, no DWARF: the table alone).

Cases:
  nm, nm.stripped              every function and entry the table gives is
                               the one `go tool nm` lists (of the plain
                               binary), and no function nm lists as text of
                               the program's own packages is missing
  addr2line, addr2line.stripped  function, file and line of PCs inside
                               every function of main, time and runtime's
                               timer code, as `go tool addr2line` gives them
  inline, inline.stripped      the calls inlined at a PC (time.After in
                               main.after in main.loop), innermost line as
                               `go tool objdump` gives it, outer lines the
                               source's
  lookup                       entries by name, as timerleak-record asks
  not_go                       a C program: a clear error, exit 1
  damaged                      the table's header and function table broken:
                               an error or unknowns, never a crash

Environment (from tests/gosym.cmake): TL_GO, TL_GOSYM_DUMP, TL_NOT_GO,
TL_GO_SRC, TL_WORK. Exit 0 pass, 1 fail, 77 skipped (no Go toolchain).
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlcheck import Fatal, Skip, check, expect, failures, log, require  # noqa: E402

E = os.environ
GO = E.get("TL_GO", "") or "go"
DUMP = E.get("TL_GOSYM_DUMP", "")
DUMP_SAN = E.get("TL_GOSYM_DUMP_SAN", "") or DUMP
NOT_GO = E.get("TL_NOT_GO", "")
GEN = E.get("TL_GEN", "")
REPORT = E.get("TL_REPORT", "")
SRC = E.get("TL_GO_SRC", "")
WORK = E.get("TL_WORK", "")

# The functions the recorder will probe, and those that tell timer kinds
# apart: each must be found by name.
PROBES = ["runtime.addtimer", "runtime.deltimer", "runtime.modtimer", "runtime.runOneTimer",
          "time.(*Timer).Reset", "time.sendTime", "time.goFunc", "runtime.goroutineReady",
          "time.NewTimer", "time.NewTicker", "time.AfterFunc", "main.loop"]


def wpath(name):
    return os.path.join(WORK, name)


def go_env():
    return dict(os.environ, HOME=wpath("home"), GOCACHE=wpath("gocache"), GOPROXY="off",
                GOFLAGS="", GO111MODULE="off")


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


def build(stripped):
    if not shutil.which(GO) and not os.path.exists(GO):
        raise Skip("no Go toolchain")
    exe = wpath("prog.stripped" if stripped else "prog")
    flags = ["-ldflags=-s -w"] if stripped else []
    p = run([GO, "build", "-o", exe] + flags + ["main.go"], cwd=SRC, env=go_env())
    require(p.returncode == 0, "go build: " + p.stderr)
    return exe


def table(exe):
    """(layout, {name: entry}, [(entry, name)]) from gosym_dump."""
    p = run([DUMP, exe])
    require(p.returncode == 0, "gosym_dump %s: %s" % (exe, p.stderr))
    lines = p.stdout.splitlines()
    m = re.match(r"layout (\S+) nfunc (\d+)$", lines[0])
    require(m, "gosym_dump's first line: " + lines[0])
    funcs = [(int(a, 16), n) for a, n in (l.split(" ", 1) for l in lines[1:])]
    expect("functions listed", int(m.group(2)), len(funcs))
    return m.group(1), {n: a for a, n in funcs}, funcs


def nm(exe):
    """Text symbols of the plain binary, {name: address}, by go tool nm."""
    p = run([GO, "tool", "nm", exe], env=go_env())
    require(p.returncode == 0, "go tool nm: " + p.stderr)
    syms = {}
    for l in p.stdout.splitlines():
        f = l.split(None, 2)
        if len(f) == 3 and f[1] in ("T", "t"):
            syms[f[2]] = int(f[0], 16)
    return syms


def case_nm(stripped):
    plain = build(False)
    exe = build(True) if stripped else plain
    layout, by_name, funcs = table(exe)
    expect("layout of Go 1.19's table", "1.18", layout)
    syms = nm(plain)
    # Assembly functions and the ABI wrappers of Go ones have their symbol
    # as NAME.abi0; a wrapper shares its function's name in the table.
    missing, wrong = [], []
    for a, n in funcs:
        known = [syms[k] for k in (n, n + ".abi0") if k in syms]
        if not known:
            missing.append(n)
        elif a not in known:
            wrong.append((n, hex(a), [hex(k) for k in known]))
    check(len(missing) <= 5, "in the table, not in go tool nm: %d: %s" % (len(missing),
                                                                          missing[:20]))
    expect("entries that differ from go tool nm's", [], wrong[:20])
    ours = [n for n in syms if n.startswith(("main.", "time.")) and not n.endswith((".abi0",))]
    lost = [n for n in ours if n not in by_name and not re.search(r"\.(args_stackmap|stkobj)$", n)]
    expect("functions of main and time that go tool nm lists and the table does not", [], lost)
    require(len(funcs) > 500, "only %d functions" % len(funcs))
    check(funcs == sorted(funcs), "functions not in address order")


def case_addr2line(stripped):
    plain = build(False)
    exe = build(True) if stripped else plain
    _, by_name, funcs = table(exe)
    ends = {a: (funcs[i + 1][0] if i + 1 < len(funcs) else a + 1) for i, (a, _) in enumerate(funcs)}
    pcs = []
    for a, n in funcs:
        if n.startswith(("main.", "time.")) or "timer" in n.lower():
            size = ends[a] - a
            pcs += sorted({a, a + 1, a + size // 3, a + size // 2, a + max(size - 1, 0)})
    require(len(pcs) > 100, "only %d PCs" % len(pcs))
    p = run([GO, "tool", "addr2line", exe], input="".join("0x%x\n" % pc for pc in pcs),
            env=go_env())
    require(p.returncode == 0, "go tool addr2line: " + p.stderr)
    theirs = p.stdout.splitlines()
    require(len(theirs) == 2 * len(pcs), "go tool addr2line gave %d lines for %d PCs"
            % (len(theirs), len(pcs)))
    q = subprocess.run([DUMP, exe] + ["%x" % pc for pc in pcs], capture_output=True, text=True)
    require(q.returncode == 0, "gosym_dump: " + q.stderr)
    ours = q.stdout.splitlines()
    bad = []
    for i, pc in enumerate(pcs):
        func, where = theirs[2 * i], theirs[2 * i + 1]
        _, f, w = ours[i].split(" ", 2)
        if where in ("?:0", ":-1", "?:-1"):  # addr2line knows no line (padding)
            where, w = "?", "?" if w == "?:0" else w
        if (func, where) != (f, w):
            bad.append("%x: go tool addr2line %s %s, ours %s %s" % (pc, func, where, f, w))
    expect("PCs where the table and go tool addr2line differ (of %d)" % len(pcs), [], bad[:15])


def src_line(text_in_line):
    """The line of the test program's main.go holding text_in_line."""
    with open(os.path.join(SRC, "main.go")) as f:
        for n, line in enumerate(f, 1):
            if text_in_line in line:
                return n
    raise Fatal("%r not in main.go" % text_in_line)


def case_inline(stripped):
    """The calls inlined at a PC, from the inline trees: the test program
    calls time.NewTimer from time.After inlined into main.loop, and from
    time.After inlined into main.after inlined into main.loop. The
    innermost line is go tool objdump's, the outer ones the source's."""
    plain = build(False)
    exe = build(True) if stripped else plain
    p = run([GO, "tool", "objdump", "-s", "^main.loop$", plain], env=go_env())
    require(p.returncode == 0, "go tool objdump: " + p.stderr)
    calls = re.findall(r"^\s*(sleep\.go:\d+)\s+0x([0-9a-f]+)\s.*CALL time\.NewTimer\(SB\)",
                       p.stdout, re.M)
    require(len(calls) == 2, "calls of time.NewTimer in main.loop: %r" % calls)
    q = subprocess.run([DUMP, exe, "-f"] + [pc for _, pc in calls], capture_output=True, text=True)
    require(q.returncode == 0, "gosym_dump: " + q.stderr)
    got = set()
    for line in q.stdout.splitlines():
        frames = [f.strip().split() for f in line.split(" ", 1)[1].split(" <-")]
        got.add(tuple((fn, os.path.basename(fl.rsplit(":", 1)[0]) + ":" + fl.rsplit(":", 1)[1])
                      for fn, fl in frames))
    inner = ("time.After", calls[0][0])
    want = {
        (inner, ("main.loop", "main.go:%d" % src_line("case <-time.After(time.Hour)"))),
        (inner, ("main.after", "main.go:%d" % src_line("return time.After(d)")),
         ("main.loop", "main.go:%d" % src_line("case <-after("))),
    }
    expect("frames at the calls of time.NewTimer", sorted(want), sorted(got))


def case_lookup():
    exe = build(True)
    syms = nm(build(False))
    for name in PROBES:
        p = subprocess.run([DUMP, exe, "-n", name], capture_output=True, text=True)
        expect("%s: found" % name, 0, p.returncode)
        if p.returncode == 0:
            expect("%s: entry" % name, hex(syms.get(name, -1)), hex(int(p.stdout, 16)))
    p = subprocess.run([DUMP, exe, "-n", "main.nothing"], capture_output=True, text=True)
    expect("a function that is not there", 1, p.returncode)


# Real stripped Go binaries that no one here wrote: esbuild from the npm
# registry, one built with Go 1.19, one with Go 1.26 (the newer table
# layout, and a header whose text start is 0).
ESBUILD = {"go1.19": "esbuild-linux-64@0.15.18", "go1.26": "@esbuild/linux-x64@0.28.2"}
# What timerleak-record probes, per Go version.
ESBUILD_PROBES = {
    "go1.19": ["runtime.addtimer", "runtime.deltimer", "runtime.modtimer",
               "runtime.runOneTimer", "time.Sleep", "time.sendTime",
               "runtime.goroutineReady"],
    "go1.26": ["runtime.(*timer).modify", "runtime.(*timer).stop",
               "runtime.(*timer).unlockAndRun", "time.newTimer", "time.Sleep",
               "runtime.goroutineReady"],
}


def esbuild(version):
    """The esbuild binary built with Go version, fetched once (npm pack)."""
    cache = E.get("TL_NPM_CACHE") or wpath("npm")
    os.makedirs(cache, exist_ok=True)
    spec = ESBUILD[version]
    tgz = os.path.join(cache, spec.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz")
    if not os.path.exists(tgz):
        if not shutil.which("npm"):
            raise Skip("no npm (scripts/setup installs it)")
        p = run(["npm", "pack", "--silent", spec], cwd=cache, env=dict(
            os.environ, HOME=wpath("home"), npm_config_cache=os.path.join(cache, ".npm")))
        got = [f for f in os.listdir(cache) if f.endswith(".tgz") and "esbuild" in f and
               spec.split("@")[-1] in f and ("x64" in spec) == ("x64" in f)]
        if p.returncode != 0 or not got:
            raise Skip("npm pack %s failed (no registry here?): %s" % (spec, p.stderr.strip()))
        os.rename(os.path.join(cache, got[0]), tgz)
    out = wpath(version)
    if not os.path.exists(os.path.join(out, "package", "bin", "esbuild")):
        os.makedirs(out, exist_ok=True)
        p = run(["tar", "xzf", tgz, "-C", out])
        require(p.returncode == 0, "tar: " + p.stderr)
    return os.path.join(out, "package", "bin", "esbuild")


_FILES = {}


def file_bytes(exe, addr, n):
    """n bytes of exe at virtual address addr, by its program headers."""
    import struct
    if exe not in _FILES:
        with open(exe, "rb") as f:
            _FILES[exe] = f.read()
    d = _FILES[exe]
    phoff, = struct.unpack_from("<Q", d, 32)
    phnum, = struct.unpack_from("<H", d, 56)
    for i in range(phnum):
        t, _, off, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", d, phoff + 56 * i)
        if t == 1 and vaddr <= addr < vaddr + filesz:
            return d[off + addr - vaddr:off + addr - vaddr + n]
    return b""


# A Go function begins with its stack check: cmp 0x10(%r14),%rsp (or
# 0x18, for the runtime's own), or lea -N(%rsp),%r12 (large frames); a few
# have none (NOSPLIT).
def go_prologue(b):
    return b[:3] == b"\x49\x3b\x66" or b.startswith(b"\x4c\x8d\xa4\x24") or \
        b.startswith(b"\x4c\x8d\x64\x24")


def case_esbuild(version):
    exe = esbuild(version)
    layout, by_name, funcs = table(exe)
    expect("layout", "1.18" if version == "go1.19" else "1.20", layout)
    for name in ESBUILD_PROBES[version]:
        p = subprocess.run([DUMP, exe, "-n", name], capture_output=True, text=True)
        if not check(p.returncode == 0, "%s %s: not found" % (version, name)):
            continue
        entry = int(p.stdout, 16)
        check(go_prologue(file_bytes(exe, entry, 8)), "%s %s at %x: %s, not a Go function's "
              "start" % (version, name, entry, file_bytes(exe, entry, 8).hex()))
    # The whole table: entries where functions begin.
    starts = sum(go_prologue(file_bytes(exe, a, 8)) for a, _ in funcs)
    check(starts >= 0.7 * len(funcs), "%s: %d of %d entries begin like a Go function"
          % (version, starts, len(funcs)))
    # esbuild's own functions by PC, with their files.
    own = [(a, n) for a, n in funcs if n.startswith("github.com/evanw/esbuild/pkg/api.")]
    require(own, "%s: no function of esbuild's pkg/api" % version)
    q = subprocess.run([DUMP, exe] + ["%x" % (a + 1) for a, _ in own], capture_output=True,
                       text=True)
    for (a, n), line in zip(own, q.stdout.splitlines()):
        _, f, where = line.split(" ", 2)
        # Its own file, or <autogenerated> (method values, init), or the
        # file of a call inlined at the first instruction.
        check(f == n and re.match(r".+\.go:[1-9]\d*$|<autogenerated>:1$", where),
              "%s: %x in %s: %s %s" % (version, a + 1, n, f, where))
    if version == "go1.19":  # Go 1.19's own tools read this one
        pcs = [a + 1 for a, _ in own[:200]]
        p = run([GO, "tool", "addr2line", exe], input="".join("0x%x\n" % pc for pc in pcs),
                env=go_env())
        theirs = p.stdout.splitlines()
        q = subprocess.run([DUMP, exe] + ["%x" % pc for pc in pcs], capture_output=True, text=True)
        for i, line in enumerate(q.stdout.splitlines()):
            _, f, where = line.split(" ", 2)
            expect("%x" % pcs[i], (theirs[2 * i], theirs[2 * i + 1]), (f, where))


def objdump(exe, start, end):
    """(address, mnemonic, operands) of each instruction in [start, end)."""
    p = run(["objdump", "-d", "--no-show-raw-insn", "--start-address=0x%x" % start,
             "--stop-address=0x%x" % end, exe])
    require(p.returncode == 0, "objdump: " + p.stderr)
    out = []
    for l in p.stdout.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", l)
        if m:
            out.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return out


def case_probe_points(source):
    """Each function timerleak-record probes gets its probe on the jbe of
    its stack check, as objdump disassembles it."""
    if source == "prog":
        exes = {"go1.19": build(False), "go1.19 stripped": build(True)}
    else:
        exes = {v: esbuild(v) for v in ESBUILD}
    for label, exe in exes.items():
        names = ESBUILD_PROBES[label.split()[0]]
        if source == "prog":
            names = names + ["time.(*Timer).Reset", "main.loop"]
        for name in names:
            p = subprocess.run([DUMP, exe, "-p", name], capture_output=True, text=True)
            if not check(p.returncode == 0, "%s %s: no probe point: %s" % (label, name, p.stderr)):
                continue
            entry, off = (int(x, 16) if i == 0 else int(x) for i, x in enumerate(p.stdout.split()))
            insns = objdump(exe, entry, entry + off + 8)
            at = [i for i, x in enumerate(insns) if x[0] == entry + off]
            if not check(at, "%s %s: no instruction starts at +%d: %s" % (label, name, off, insns)):
                continue
            i = at[0]
            check(insns[i][1] == "jbe", "%s %s: +%d is %s, not the stack check's jbe"
                  % (label, name, off, insns[i][1]))
            check(i > 0 and insns[i - 1][1] == "cmp" and "%r14" in insns[i - 1][2],
                  "%s %s: before +%d: %s, not the stack check" % (label, name, off, insns[:i]))


def goinfo(exe, godebug=None):
    p = subprocess.run([DUMP, exe, "-i"] + ([godebug] if godebug is not None else []),
                       capture_output=True, text=True)
    require(p.returncode == 0, "gosym_dump -i %s: %s" % (exe, p.stderr))
    m = re.match(r"version (\S+) source (\S+) default (-?\d) async (-?\d)$", p.stdout.strip())
    require(m, "gosym_dump -i: " + p.stdout)
    return m.group(1), m.group(2), int(m.group(3)), int(m.group(4))


def case_goinfo():
    """The Go version and the timer channels' mode, as the recorder reads
    them: a program built here (plain, stripped), and both esbuilds, whose
    Go 1.26 one has its build info header zeroed."""
    ver = run([GO, "version"], env=go_env()).stdout.split()[2]
    for exe in (build(False), build(True)):
        expect("version of %s" % os.path.basename(exe), (ver, "buildinfo", -1, 1), goinfo(exe))
        expect("GODEBUG=asynctimerchan=0 before Go 1.23", 1, goinfo(exe, "asynctimerchan=0")[3])
    try:
        e119, e126 = esbuild("go1.19"), esbuild("go1.26")
    except Skip as e:
        log("esbuild: " + str(e))
        return
    theirs = run([GO, "version", e119], env=go_env()).stdout.strip().split()[-1]
    expect("esbuild 1.19: version (go version says %s)" % theirs, (theirs, "buildinfo"),
           goinfo(e119)[:2])
    # Its module info says DefaultGODEBUG=asynctimerchan=1 (go.mod before
    # 1.23): asynchronous, unless GODEBUG says otherwise.
    with open(e126, "rb") as f:
        data = f.read()
    require(b"DefaultGODEBUG=asynctimerchan=1" in data, "esbuild 1.26's module info changed")
    expect("esbuild 1.26", ("go1.26.5", "strings", 1, 1), goinfo(e126))
    expect("esbuild 1.26, GODEBUG=asynctimerchan=0", 0, goinfo(e126, "x=1,asynctimerchan=0")[3])
    expect("esbuild 1.26, GODEBUG=asynctimerchan=1", 1, goinfo(e126, "asynctimerchan=1")[3])


def case_report(stripped):
    """timerleak-report names a Go program's frames, function, file and
    line as go tool addr2line does: from DWARF, or, stripped, from the
    table alone."""
    plain = build(False)
    exe = build(True) if stripped else plain
    _, by_name, funcs = table(exe)
    ends = {a: funcs[i + 1][0] for i, (a, _) in enumerate(funcs[:-1])}
    loop, main = by_name["main.loop"], by_name["main.main"]
    pcs = [loop + (ends[loop] - loop) // 2, main + 9]
    trace = wpath("go.tlk")
    p = run([GEN, "go_site", trace, "%s:%s" % (exe, ",".join("%x" % pc for pc in pcs))])
    require(p.returncode == 0, "analyzer_gen: " + p.stderr)
    p = run([REPORT, "--json", trace])
    require(p.returncode == 0, "timerleak-report: " + p.stderr)
    findings = json.loads(p.stdout)["findings"]
    require(len(findings) == 1, "findings: %s" % [f["pattern"] for f in findings])
    site = findings[0]["site"]
    # Every frame of a recorded stack is a return address: less one, the call.
    q = run([GO, "tool", "addr2line", exe], input="0x%x\n0x%x\n" % (pcs[0] - 1, pcs[1] - 1),
            env=go_env())
    want = q.stdout.splitlines()
    for i in range(2):
        file, line = want[2 * i + 1].rsplit(":", 1)
        expect("frame %d" % i, (want[2 * i], file, int(line)),
               (site[i]["function"], site[i]["file"], site[i]["line"]))


def case_not_go():
    p = run([DUMP, NOT_GO])
    expect("a C program: exit status", 1, p.returncode)
    check("no Go symbol table (.gopclntab)" in p.stderr, "message: " + p.stderr)
    # A C program with something shaped like a table header in its
    # read-only data is still not Go: it has section headers, none of
    # them .gopclntab.
    import struct
    with open(NOT_GO, "rb") as f:
        d = bytearray(f.read())
    shoff, = struct.unpack_from("<Q", d, 40)
    shnum, shstrndx = struct.unpack_from("<HH", d, 60)
    names = struct.unpack_from("<IIQQQQ", d, shoff + 64 * shstrndx)[4]
    rodata = None
    for i in range(shnum):
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", d, shoff + 64 * i)
        if d[names + name:names + name + 8] == b".rodata\0" and size >= 96:
            rodata = off
    require(rodata, "no .rodata in " + NOT_GO)
    fake = struct.pack("<IBBBBQQQQQQQQ", 0xfffffff1, 0, 0, 1, 8, 1, 0, 0, 72, 72, 72, 72, 72)
    fake += struct.pack("<IIII", 0, 0, 16, 0)
    d[rodata:rodata + len(fake)] = fake
    path = wpath("c_with_lookalike")
    with open(path, "wb") as f:
        f.write(d)
    p = run([DUMP, path, "-i"])
    expect("a C program with a look-alike table: exit status", 1, p.returncode)
    check("not a Go binary" in p.stderr, "message: " + p.stderr)
    p = run([DUMP, wpath("nonexistent")])
    expect("no such file: exit status", 1, p.returncode)
    check("No such file or directory" in p.stderr, "message: " + p.stderr)


def case_damaged():
    exe = build(True)
    with open(exe, "rb") as f:
        data = bytearray(f.read())
    at = data.find(b"\xf0\xff\xff\xff\x00\x00")
    require(at > 0, "no Go 1.18 table magic in the binary")

    def variant(name, edit):
        d = bytearray(data)
        edit(d)
        path = wpath(name)
        with open(path, "wb") as f:
            f.write(d)
        os.chmod(path, 0o755)
        p = run([DUMP_SAN, path])
        check(p.returncode in (0, 1), "%s: exit %d (a crash?): %s" % (name, p.returncode, p.stderr))
        if p.returncode == 1:
            check("Go symbol table" in p.stderr, "%s: message %r" % (name, p.stderr))
        p = subprocess.run([DUMP_SAN, path, "401000", "0", "ffffffffffffffff"], capture_output=True,
                           text=True)
        check(p.returncode in (0, 1), "%s: PCs: exit %d (a crash?)" % (name, p.returncode))

    # nfunc enormous; the function table's offset past the end; the pc-value
    # tables' offset past the end; every function record offset garbage.
    variant("nfunc", lambda d: d.__setitem__(slice(at + 8, at + 16), b"\xff" * 8))
    variant("functab", lambda d: d.__setitem__(slice(at + 64, at + 72), b"\xff\xff\xff\x7f" * 2))
    variant("pctab", lambda d: d.__setitem__(slice(at + 56, at + 64), b"\xf0\xff\xff\x0f" * 2))
    functab = int.from_bytes(data[at + 64:at + 72], "little")
    variant("records", lambda d: d.__setitem__(slice(at + functab, at + functab + 4096),
                                               b"\xee" * 4096))
    variant("truncated", lambda d: d.__delitem__(slice(at + 4096, None)))
    # No section headers at all: the table is found by its magic, .text by
    # the executable segment, and says the same.
    d = bytearray(data)
    d[0x28:0x30] = b"\0" * 8  # e_shoff
    d[0x3c:0x40] = b"\0" * 4  # e_shnum, e_shstrndx
    path = wpath("no_sections")
    with open(path, "wb") as f:
        f.write(d)
    _, want, _ = table(exe)
    _, got, _ = table(path)
    expect("without section headers: functions that differ", [],
           sorted(n for n in want if got.get(n) != want[n])[:10])
    # No section headers, and the read-only segment cut to end 68 bytes
    # into the table: shorter than its header, not read past its end (the
    # sanitized build's gosym_dump would say).
    import struct
    d = bytearray(d)
    phoff, = struct.unpack_from("<Q", d, 32)
    phnum, = struct.unpack_from("<H", d, 56)
    for i in range(phnum):
        t, flags, off, _, _, filesz = struct.unpack_from("<IIQQQQ", d, phoff + 56 * i)
        if t == 1 and off <= at < off + filesz:
            struct.pack_into("<Q", d, phoff + 56 * i + 32, at + 68 - off)
    path = wpath("short_table")
    with open(path, "wb") as f:
        f.write(d)
    p = run([DUMP_SAN, path])
    expect("a table shorter than its header: exit status", 1, p.returncode)
    check("Go symbol table" in p.stderr and "Sanitizer" not in p.stderr,
          "a table shorter than its header: " + p.stderr[:2000])
    # An older table's magic: said, not guessed at.
    d = bytearray(data)
    d[at:at + 4] = b"\xfb\xff\xff\xff"
    path = wpath("go1.16")
    with open(path, "wb") as f:
        f.write(d)
    p = run([DUMP_SAN, path])
    expect("an older table: exit status", 1, p.returncode)
    check("older than Go 1.18" in p.stderr or "no Go symbol table" in p.stderr,
          "an older table: " + p.stderr)


CASES = {
    "nm": lambda: case_nm(False),
    "nm.stripped": lambda: case_nm(True),
    "addr2line": lambda: case_addr2line(False),
    "addr2line.stripped": lambda: case_addr2line(True),
    "lookup": case_lookup,
    "inline": lambda: case_inline(False),
    "inline.stripped": lambda: case_inline(True),
    "not_go": case_not_go,
    "damaged": case_damaged,
    "goinfo": case_goinfo,
    "report": lambda: case_report(False),
    "report.stripped": lambda: case_report(True),
    "probe_points": lambda: case_probe_points("prog"),
    "probe_points.esbuild": lambda: case_probe_points("esbuild"),
    "esbuild.go1.19": lambda: case_esbuild("go1.19"),
    "esbuild.go1.26": lambda: case_esbuild("go1.26"),
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: gosym_test.py CASE\ncases: " + " ".join(sorted(CASES)), file=sys.stderr)
        return 2
    os.makedirs(WORK, exist_ok=True)
    try:
        CASES[sys.argv[1]]()
    except Skip as e:
        print("skipped: %s" % e)
        return 77
    except Fatal as e:
        print("FAIL: %s" % e)
        return 1
    n = len(failures)
    print("%s: %s" % (sys.argv[1], "ok" if not n else "FAILED (%d)" % n))
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())

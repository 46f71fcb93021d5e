#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
"""Write the seed corpora, test/fuzz/corpus/TARGET/NAME: a handful of
meaningful inputs per target, in the input format its fuzz_TARGET.c
describes.  Run from anywhere; the files are committed, so this only needs
running again when a format changes."""
import os
import struct
import sys

TOP = os.path.dirname(os.path.abspath(__file__))
SEEDS = {}


def seed(target, name, data):
    SEEDS.setdefault(target, []).append((name, data if isinstance(data, bytes) else data.encode()))


def nul(*fields):
    return b"\0".join(f if isinstance(f, bytes) else f.encode() for f in fields)


# ---- inject: the rules, then NUL and a path ---------------------------------
seed("inject", "lose-old", "op=fsync,path=*.db-wal,nth=3,errno=EIO,lose=old")
seed("inject", "three-rules", "op=sync;op=write,every=2,count=0,errno=28;op=close,prob=0.5,seed=9")
seed("inject", "every-with-path", nul("op=fdatasync,every=3,count=0,path=/srv/*/main.db", "/srv/db/main.db"))
seed("inject", "lose-zero", nul("op=sync,path=*.db*,count=0,lose=zero;;", "/srv/db/main.db-wal"))
seed("inject", "bad-two-whens", "op=fsync,nth=2,every=3")
seed("inject", "bad-key", "op=fsync;op=msync,nht=3")

# ---- config: flags, then the variables' values separated by NUL --------------
# order: POLICY STATE STATE_CAPACITY LOG INJECT INJECT_MEMORY TMPDIR HOME XDG_STATE_HOME
seed("config", "all-valid", b"\0\0" + nul("failstop", "/var/lib/stickysync", "1024", "/var/log/ss.log",
                                          "op=fsync,nth=2", "1048576", "/tmp", "/root", "/root/.state"))
seed("config", "all-invalid", b"\0\0" + nul("loose", "relative/dir", "17", "stdout", "", "-1", "tmp", "", ""))
seed("config", "home-default", bytes([0x7f << 1, 0]) + nul("", "", "", "", "", "", "", "/home/user", "relative"))
seed("config", "root-state-off", b"\1\0" + nul("observe", "off", "", "off", "", "", "", "", ""))
seed("config", "no-home", bytes([0xfe, 0xff]))

# ---- procmaps: one line of /proc/self/maps ------------------------------------
seed("procmaps", "file", "7f1c2a600000-7f1c2a622000 r--p 00000000 08:01 1048602                    /usr/lib/x86_64-linux-gnu/libc.so.6")
seed("procmaps", "deleted", "7f00aa000000-7f00aa100000 rw-s 00000000 00:1a 77 /dev/shm/db (deleted)")
seed("procmaps", "anonymous", "55d0c8a4d000-55d0c8a6e000 rw-p 00000000 00:00 0                          [heap]")
seed("procmaps", "big-dev", "ffffffffff600000-ffffffffff601000 --xp 00000000 103:fff 12 /x")
seed("procmaps", "truncated", "7f1c2a600000-7f1c2a622000 r--p 0000")

# ---- coverage: an executable file --------------------------------------------
PT_LOAD, PT_INTERP, PT_NOTE = 1, 3, 4


def elf64(phdrs, shdrs=(), shstrndx=0, tail=b""):
    """phdrs: (type, offset, size); data after the headers at tail."""
    ehsize, phsize, shsize = 64, 56, 64
    phoff = ehsize
    data_off = phoff + phsize * len(phdrs)
    shoff = data_off + len(tail) if shdrs else 0
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    hdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, phoff, shoff, 0, ehsize,
                              phsize, len(phdrs), shsize, len(shdrs), shstrndx)
    ph = b"".join(struct.pack("<IIQQQQQQ", t, 4, data_off + o, 0, 0, s, s, 8) for t, o, s in phdrs)
    sh = b"".join(struct.pack("<IIQQQQIIQQ", n, 1, 0, 0, data_off + o, s, 0, 0, 1, 0) for n, o, s in shdrs)
    return hdr + ph + tail + sh


def elf32_dynamic():
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    interp = b"/lib/ld-linux.so.2\0"
    hdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, 0x8048000, 52, 0, 0, 52, 32, 1, 40, 0, 0)
    return hdr + struct.pack("<IIIIIIII", PT_INTERP, 84, 0, 0, len(interp), len(interp), 4, 1) + interp


interp = b"/lib64/ld-linux-x86-64.so.2\0"
go_note = struct.pack("<III", 4, 16, 4) + b"Go\0\0" + b"build-id-16bytes"
strtab = b"\0.shstrtab\0.go.buildinfo\0"
seed("coverage", "elf64-dynamic", elf64([(PT_INTERP, 0, len(interp)), (PT_LOAD, 0, 0)], tail=interp))
seed("coverage", "elf64-static", elf64([(PT_LOAD, 0, 0)]))
seed("coverage", "elf64-go-note", elf64([(PT_NOTE, 0, len(go_note))], tail=go_note))
seed("coverage", "elf64-go-buildinfo", elf64([(PT_LOAD, 0, 0)], shdrs=[(0, 0, 0), (1, 0, len(strtab)), (11, 0, 0)],
                                             shstrndx=1, tail=strtab))
seed("coverage", "elf32-dynamic", elf32_dynamic())
seed("coverage", "script", "#!/bin/sh -e\necho covered\n")
seed("coverage", "script-env", "#!  /usr/bin/env python3\n")

# ---- args: the command (0 run, 1 status, 2 ack, 3 prune), then argv ----------
seed("args", "run-all", b"\0" + nul("--policy", "failstop", "--inject", "op=fsync,nth=2", "--inject=op=close",
                                    "--log=off", "--fail-on-latch", "--", "sqlite3", "-batch", "db"))
seed("args", "run-missing-value", b"\0" + nul("--state=/tmp/s", "--inject"))
seed("args", "status-json", b"\1" + nul("--json", "--all", "--state", "/tmp/s"))
seed("args", "ack-paths", b"\2" + nul("/srv/db/main.db", "--state", "/tmp/s", "relative", "--", "--all"))
seed("args", "prune-bad", b"\3" + nul("--active", "--json", "-h"))
seed("args", "run-unknown", b"\0" + nul("-x", "--fail-on-latch", "--polic=sticky", "cmd"))

# ---- table: see fuzz_table.c for the layout -----------------------------------
SLOT_EMPTY, SLOT_BUSY, SLOT_ACTIVE, SLOT_ACKED, SLOT_DEAD = range(5)
KEY_FILE, KEY_FS = 1, 2
KEYF_BTIME = 1
M64 = (1 << 64) - 1


def key_hash(kind, dev, ino):
    h = 0 if kind == KEY_FS else ino
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & M64
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & M64
    h ^= h >> 33
    return h


def record(state, kind, dev, ino, seq, path, op="fsync", prog="postgres", pid=4242, ack_seq=0,
           claim_ns=0, error=5, when_ns=1714557600000000000):
    def text(s, n):
        b = s if isinstance(s, bytes) else s.encode()
        return b[:n].ljust(n, b"\0")
    key = struct.pack("<QQqIIII", dev, ino, 1714550000 if kind == KEY_FILE else 0, 123, 0, kind,
                      KEYF_BTIME if kind == KEY_FILE else 0)
    body = struct.pack("<QQqqii", seq, ack_seq, when_ns, when_ns + 10**9 if ack_seq else 0, error, pid)
    rec = struct.pack("<Qq", state, claim_ns) + key + body + text(op, 16) + text(prog, 32) + text(path, 256)
    assert len(rec) == 400
    return rec


def built(cap_log2, records, seq=20, active=None, live=None, fs_live=0, flags=0, cut=None, header=None):
    """records: list of record() bytes placed at their home slot (or the next free)."""
    cap = 1 << cap_log2
    slots = [bytes(400)] * cap
    for r in records:
        state, _, dev, ino = struct.unpack_from("<QqQQ", r)
        kind = struct.unpack_from("<I", r, 16 + 32)[0]
        i = key_hash(kind, dev, ino) & (cap - 1)
        while slots[i] != bytes(400):
            i = (i + 1) & (cap - 1)
        slots[i] = r
    n_active = sum(1 for r in records if r[0] == SLOT_ACTIVE)
    n_live = sum(1 for r in records if r[0] in (SLOT_ACTIVE, SLOT_ACKED))
    out = bytes([cap_log2 | flags])
    if cut is not None:
        out += bytes([cut])
    if header is not None:
        out += header
    else:
        out += struct.pack("<QIII", seq, n_active if active is None else active,
                           n_live if live is None else live, fs_live)
    body = b"".join(slots)
    return out + body.rstrip(b"\0")


seed("table", "active-acked-fs", built(2, [
    record(SLOT_ACTIVE, KEY_FILE, 0x801, 131074, 7, "/srv/db/pg_wal/000000010000000000000001"),
    record(SLOT_ACKED, KEY_FILE, 0x801, 131080, 9, "/srv/db/base/16384/2619", ack_seq=12),
    record(SLOT_ACTIVE, KEY_FS, 0x801, 0, 15, "/srv/db", op="syncfs", prog="sync"),
], fs_live=1))
seed("table", "busy-dead", built(3, [
    record(SLOT_BUSY | (0x7ffffffe << 32), KEY_FILE, 0x803, 99, 3, "/var/tmp/half", claim_ns=1),
    record(SLOT_DEAD, KEY_FILE, 0x803, 100, 4, "/var/tmp/pruned"),
    record(SLOT_ACTIVE, KEY_FILE, 0x803, 101, 5, b'/var/tmp/kept "quoted"\t\xff\xfe \xc3\xa9\\' ),
]))
seed("table", "full", built(1, [
    record(SLOT_ACTIVE, KEY_FILE, 0x801, 1, 2, "/a"),
    record(SLOT_ACTIVE, KEY_FILE, 0x801, 2, 3, "/b"),
]))
seed("table", "wrong-version", built(1, [record(SLOT_ACTIVE, KEY_FILE, 0x801, 1, 2, "/a")], flags=0x10,
                                     header=b"STKYSYN1" + struct.pack("<IIII", 2, 2, 400, 65584) + struct.pack("<QIIII", 5, 1, 1, 0, 0)))
seed("table", "cut-short", built(1, [record(SLOT_ACTIVE, KEY_FILE, 0x801, 1, 2, "/a")], flags=0x40, cut=0))
seed("table", "raw-garbage", b"\x08STKYSYN1" + struct.pack("<IIII", 3, 1, 400, 65584))


# ---- attr: the user.stickysync attribute's value, as fgetxattr returns it ----
seed("attr", "latch", "1 ENOSPC fsync 1764482467 4242 host1 qemu-io")
seed("attr", "acked", "1 acked ack 1764483012 977 host2 stickysync")
seed("attr", "numeric", "1 28 fsync x y")
seed("attr", "foreign", b"\xff garbage")
seed("attr", "far-future", "1 EIO fsync 9223372036854775807 1 h p")


# ---- reproducers of defects found (test/fuzz/crashes/TARGET/) ----------------
CRASHES = {}
# An option that takes no value, given one: getopt_long reports it with the
# option's number in optopt, which the message printed as a character.
CRASHES["args"] = [
    ("long-option-with-value", b"\1" + nul("--json=1")),
    ("help-with-value", b"\0" + nul("--help=x", "cmd")),
]
# Text fields filled to the last byte, as a corrupt or hostile table may have
# them: the printers must stop at the end of each field.
# One such record prints what follows it in memory; sixteen fill the array the
# command copies them into, and the last is printed from past its end.
CRASHES["table"] = [
    ("unterminated-text", built(0, [
        record(SLOT_ACTIVE, KEY_FILE, 0x801, 7, 2, b"/" * 256, op=b"o" * 16, prog=b"p" * 32)])),
    ("unterminated-text-16", built(4, [
        record(SLOT_ACTIVE, KEY_FILE, 0x801, ino, ino + 1, b"/" * 256, op=b"o" * 16, prog=b"p" * 32)
        for ino in range(1, 17)])),
    # A BUSY record claimed at the earliest time there is: its age overflows.
    ("busy-claimed-at-int64-min", built(0, [
        record(SLOT_BUSY | (0x7ffffffe << 32), KEY_FILE, 0x801, 7, 2, "/srv/db/half", claim_ns=-2**63)])),
]


def main():
    for target, seeds in CRASHES.items():
        d = os.path.join(TOP, "crashes", target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    for target, seeds in SEEDS.items():
        d = os.path.join(TOP, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds:
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    print("wrote", sum(len(s) for s in SEEDS.values()), "seeds", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The symbol order of the static CLI's link (scripts/eval-symbol-order.txt): the code and data
that `softmax-oracle eval` touches, first, so that they share pages.

A run of `eval` pays a page fault for every page of the binary it touches first (here 1.5 µs
each; the kernel maps the 16 pages around a code fault at once). Left in the linker's order, the
code a request runs is spread over 8 MB of a 16 MB text and the few words of runtime state it
writes (metadata caches, once-tokens) over as many pages of data: a one-logit `eval` took 189
page faults, against 45 for a static C program that does nothing. scripts/target-cpu.sh links the
static CLI with lld and `--symbol-ordering-file` this list (every function in its own section:
`-function-sections`), which puts the listed symbols first, in this order.

The list is measured, not written by hand: run the requests of every function and family
(`tier-grid --dump DIR` writes them) through a CLI under `perf record`, and take every function
that a page fault or a CPU-clock sample hit, then every data symbol a page fault wrote. New
symbols are appended to the existing list, so that running it again on a CLI linked with the list
finds the code that faults only once the first faults are gone; repeat until it adds few. A list
that names symbols the code no longer has is harmless (lld skips them; the flag that would warn
is off), only slower.

    python3 scripts/eval-symbol-order.py --oracle .build-native-static/release/softmax-oracle --requests DIR \
        [--first DIR/softmax.single_logit.bin]

With --first, the code a one-logit request runs (start-up, reading, writing) is put first, in the
order it runs, so that what every request runs is as dense as it can be. glibc's IFUNC resolvers,
which its static start-up calls before main, always come right after _start.

The fault counts move by a few from one regeneration to the next (the --first order comes from
samples); keep the list whose binary faults least (getrusage's minor faults over a few runs). After
code changes, a list remade from an empty file (link with it empty, then six or seven passes, each
relinking: lld takes about a second) faulted less than one grown pass by pass over the old one
(84-85 against 88-89 on a one-logit request), and is shorter.
"""
import argparse
import bisect
import collections
import glob
import os
import subprocess
import sys
import tempfile


def symbols(binary):
    """(address, name) of the binary's code and data symbols, sorted; its text and data ranges."""
    out = subprocess.run(["nm", "-n", binary], capture_output=True, text=True, check=True).stdout
    code, data = [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        address, kind, name = int(parts[0], 16), parts[1], parts[2]
        if kind in "tTwWi":  # i: glibc's ifunc symbols (memcpy, cosf, ...), resolved at start-up
            code.append((address, name))
        elif kind in "dDbBrR":
            data.append((address, name))
    return code, data


def ifunc_names(binary, cache={}):
    """The names of the binary's IFUNC symbols (nm kind i)."""
    if binary not in cache:
        out = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
        cache[binary] = {p[2] for p in (line.split() for line in out.splitlines()) if len(p) == 3 and p[1] == "i"}
    return cache[binary]


def containing(table, addresses, address):
    i = bisect.bisect_right(addresses, address) - 1
    return table[i][1] if i >= 0 else None


def record(event, oracle, requests, extra, fields=None):
    """perf script lines (addr and ip with -d, else ip; or `fields`) of every `eval` of the requests under
    `perf record -e event`."""
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "run.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n")
            for path in requests:
                transport = " --transport binary" if path.endswith(".bin") else ""
                f.write(f"'{oracle}' eval{transport} < '{path}' > /dev/null\n")
        os.chmod(script, 0o755)
        data = os.path.join(tmp, "perf.data")
        subprocess.run(["perf", "record", "-q", "-o", data, "-e", event] + extra + ["--", script],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # perf script prints its fields in its own order, not -F's: the address before the ip.
        fields = fields or ("addr,ip" if "-d" in extra else "ip")
        out = subprocess.run(["perf", "script", "-i", data, "--comm", os.path.basename(oracle)[:15], "-F", fields],
                             capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--oracle", required=True, help="a static CLI built from this checkout")
    parser.add_argument("--requests", required=True, help="a folder of FUNCTION.FAMILY.jsonl and .bin requests (tier-grid --dump)")
    parser.add_argument("--first", help="a one-logit request (.bin): its code goes first, in the order it runs")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "eval-symbol-order.txt"))
    args = parser.parse_args()

    requests = sorted(glob.glob(os.path.join(args.requests, "*.bin")) + glob.glob(os.path.join(args.requests, "*.jsonl")))
    if not requests:
        sys.exit(f"eval-symbol-order: no .bin or .jsonl requests in {args.requests}")
    code, data = symbols(args.oracle)
    ifuncs = sorted({name for _, name in code if name in ifunc_names(args.oracle)})
    code_at, data_at = [a for a, _ in code], [a for a, _ in data]

    faults = record("page-faults", args.oracle, requests, ["-c", "1", "-d"])
    samples = record("cpu-clock", args.oracle, requests, ["-c", "10000"])
    hits = collections.Counter()
    written = collections.Counter()
    for row in faults:
        addr, ip = int(row[0], 16), int(row[1], 16)
        if addr == ip:  # an instruction fetch
            hits[containing(code, code_at, ip)] += 1
        elif data and data[0][0] <= addr < data[-1][0] + 4096 and not code[0][0] <= addr < code[-1][0]:
            written[containing(data, data_at, addr)] += 1
    for row in samples:
        hits[containing(code, code_at, int(row[0], 16))] += 1

    order = []
    if os.path.exists(args.out):
        order = [line.strip() for line in open(args.out) if line.strip()]
    known = set(order)
    added = [n for n, _ in hits.most_common() + written.most_common() if n and n not in known]
    order += added
    if args.first:
        # The code every request runs (start-up, reading, writing: what a one-logit request runs),
        # first, in the order it runs: each function at the median time of its samples after the
        # process's first one.
        runs = [args.first] * 200
        seen = collections.defaultdict(list)
        start = {}
        for row in record("cpu-clock", args.oracle, runs, ["-c", "2000"], fields="pid,time,ip") + \
                record("page-faults", args.oracle, runs, ["-c", "1"], fields="pid,time,ip"):
            pid, time, ip = row[0], float(row[1].rstrip(":")), int(row[2], 16)
            start.setdefault(pid, time)
            if code[0][0] <= ip <= code[-1][0]:
                seen[containing(code, code_at, ip)].append(time - start[pid])
        first = sorted(seen, key=lambda n: sorted(seen[n])[len(seen[n]) // 2])
        order = first + [n for n in order if n not in set(first)]
    # glibc's static start-up calls every IFUNC resolver (memcpy's, cosf's, ...: its IRELATIVE
    # relocations) before main, whatever the request. Each is too short to be sampled, and faults
    # only when it is alone on its page, so they come right after _start, together.
    placed = set(ifuncs) | {"_start"}
    order = ["_start"] + ifuncs + [n for n in order if n not in placed]
    with open(args.out, "w") as f:
        f.write("\n".join(order) + "\n")
    print(f"eval-symbol-order: {len(requests)} requests, {len(faults) / len(requests):.0f} page faults per eval; "
          f"{len(added)} symbols added, {len(order)} in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

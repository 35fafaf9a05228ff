#!/usr/bin/env python3
"""Peak memory per logit of `softmax-oracle eval`, for every function and the main options.

For each case, one request of K logits and the same request of one logit are sent to
`softmax-oracle eval --transport binary` (a fresh process each, binary frames on standard input
from a file); the difference of the two peak resident set sizes (getrusage's ru_maxrss), divided
by K, is what the request costs per logit. The table gives it, the request's input (its payload
bytes per logit) and "kept": per-logit bytes beyond the input and the 32 bytes a value that
`Oracle.evaluate` returns (an `OracleValue`: the rounded value and its exact value), the figure of
issue 13 ("no function keeps more than about 100 bytes per logit beyond its input and output").

    python3 scripts/memory-per-logit.py --oracle BIN [--k 1000000] [--mpfr-only] [--cases a,b]
                                        [--repeats 1] [--dump DIR]

--mpfr-only passes the flag on (every output on the MPFR path); --dump DIR writes each case's
request (DIR/CASE.bin) instead of measuring, for identity checks (`cmp` of two binaries'
answers). Logits are K distinct values (a seeded normal sample, scale 3), so no sharing of
equal values applies: the worst case for the MPFR path's memory.
"""
import argparse, json, os, random, struct, subprocess, sys, tempfile


def frame(header, arrays):
    """A request frame (docs/protocol.md, "Binary frames"): arrays is [(name, dtype, shape, values)]."""
    header = dict(header)
    header["arrays"] = [{"name": n, "dtype": d, "shape": list(s)} for n, d, s, _ in arrays]
    h = json.dumps(header, separators=(",", ":")).encode()
    payload = b"".join(struct.pack("<%d%s" % (len(v), "d" if d == "f64" else "q"), *v) for _, d, _, v in arrays)
    return b"SOF1" + struct.pack("<IQ", len(h), len(payload)) + h + payload, len(payload)


def cases(k, seed=1):
    """name -> (header, arrays, outputs): the requests measured, each for a row of k logits."""
    rnd = random.Random(seed)
    x = [rnd.gauss(0, 3) for _ in range(k)]
    p = [rnd.random() for _ in range(k)]
    total = sum(p)
    p = [v / total for v in p]
    wt = [rnd.choice([0.5, 1.0, 2.0, 0.25]) + rnd.random() for _ in range(k)]
    dy = [rnd.gauss(0, 1) for _ in range(k)]
    labels = [rnd.random() for _ in range(k)]
    t = k // 3
    f64 = lambda n, v, s=None: (n, "f64", s or [len(v)], v)
    row = f64("logits", x)
    half = k // 2 or 1
    batch = [x[:half], x[half:2 * half]] if k >= 2 else [x, x]
    kb = len(batch[0])
    flat = batch[0] + batch[1]
    c = {}
    c["logsumexp"] = ({"function": "logsumexp"}, [row], 1)
    c["softmax"] = ({"function": "softmax"}, [row], k)
    c["log_softmax"] = ({"function": "log_softmax"}, [row], k)
    for fn, outs in (("cross_entropy", 1), ("cross_entropy_grad", k)):
        c[fn] = ({"function": fn, "target": t}, [row], outs)
        c[fn + "+probs"] = ({"function": fn}, [row, f64("targets", p)], outs)
        c[fn + "+probs+smoothing"] = ({"function": fn, "label_smoothing": 0.1}, [row, f64("targets", p)], outs)
        c[fn + "+smoothing"] = ({"function": fn, "target": t, "label_smoothing": 0.1}, [row], outs)
        c[fn + "+weight"] = ({"function": fn, "target": t}, [row, f64("weight", wt)], outs)
        c[fn + "+softcap"] = ({"function": fn, "target": t, "softcap": 30.0}, [row], outs)
        c[fn + "+z_loss"] = ({"function": fn, "target": t, "z_loss": 1e-4}, [row], outs)
        c[fn + "+temperature"] = ({"function": fn, "target": t, "temperature": 0.7}, [row], outs)
    for fn, outs in (("cross_entropy_loss", 1), ("cross_entropy_loss_backward", 2 * kb)):
        tg = ("targets", "i64", [2], [t % kb, 100 % kb])
        c[fn] = ({"function": fn, "reduction": "mean", "ignore_index": 100 % kb}, [("batch", "f64", [2, kb], flat), tg], outs)
        c[fn + "+softcap"] = ({"function": fn, "reduction": "mean", "softcap": 30.0},
                              [("batch", "f64", [2, kb], flat), tg], outs)
    c["softmax_backward"] = ({"function": "softmax_backward"}, [row, f64("grad_output", dy)], k)
    c["log_softmax_backward"] = ({"function": "log_softmax_backward"}, [row, f64("grad_output", dy)], k)
    for fn in ("sigmoid", "log_sigmoid", "softplus"):
        c[fn] = ({"function": fn}, [row], k)
    c["bce_with_logits"] = ({"function": "bce_with_logits"}, [row, f64("labels", labels)], k)
    return c


def peak_rss(oracle, path, extra):
    """The peak RSS in bytes of `oracle eval --transport binary` reading path, as /usr/bin/time
    reports it (not this process's own ru_maxrss of a child: a child spawned from a large Python
    process can report the parent's resident size as its own peak)."""
    with open(path, "rb") as fin, open(os.devnull, "wb") as fout:
        r = subprocess.run(["/usr/bin/time", "-f", "%M", oracle, "eval", "--transport", "binary", *extra],
                           stdin=fin, stdout=fout, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print(f"  (exit status {r.returncode} on {path}: {r.stderr.strip()[:200]})", file=sys.stderr)
    return int(r.stderr.strip().splitlines()[-1]) * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--oracle", required=True)
    ap.add_argument("--k", type=int, default=1_000_000)
    ap.add_argument("--mpfr-only", action="store_true")
    ap.add_argument("--cases", default="")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each request; the least peak is kept")
    ap.add_argument("--dump", default="")
    a = ap.parse_args()
    big, one = cases(a.k), cases(1)
    names = [n for n in big if not a.cases or n in a.cases.split(",")]
    if a.dump:
        os.makedirs(a.dump, exist_ok=True)
        for n in names:
            h, arrays, _ = big[n]
            with open(os.path.join(a.dump, n + ".bin"), "wb") as f:
                f.write(frame(dict(h, id=1), arrays)[0])
        return
    extra = ["--mpfr-only"] if a.mpfr_only else []
    print(f"K = {a.k}, {'--mpfr-only' if a.mpfr_only else 'default path'}; bytes per logit")
    print(f"{'case':40s} {'peak':>8s} {'input':>6s} {'output':>6s} {'kept':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for n in names:
            for size, table in ((a.k, big), (1, one)):
                h, arrays, outs = table[n]
                data, payload = frame(dict(h, id=1), arrays)
                path = os.path.join(tmp, f"{n}.{size}.bin")
                with open(path, "wb") as f:
                    f.write(data)
                files[n, size] = (path, payload, outs)
        big.clear()
        for n in names:
            rss = [min(peak_rss(a.oracle, files[n, size][0], extra) for _ in range(a.repeats)) for size in (a.k, 1)]
            _, payload, outs = files[n, a.k]
            inp, out = payload / a.k, 32 * outs / a.k  # MemoryLayout<OracleValue>.stride (ExactValueLayoutTests)
            per = (rss[0] - rss[1]) / a.k
            print(f"{n:40s} {per:8.1f} {inp:6.0f} {out:6.0f} {per - inp - out:6.1f}", flush=True)

if __name__ == "__main__":
    main()

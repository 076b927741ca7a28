"""Tables of RESULTS.md from results.jsonl (probe_kernels.py): process base, per-family bytes, pair
additivity, and the validation on tests/fixtures.

    .venv/bin/python research/cpu-runtime/kernels/analyze.py [results.jsonl]
"""

from __future__ import annotations

import collections
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from probe_kernels import PAIRS, PER_OP, SINGLE  # noqa: E402

MiB = 2**20
MULTI_ROWS: dict = {}
PER_OP_THREAD = 85 * 2  # B per IR op at 2 threads (research/cpu-runtime/RESULTS.md)
OLD_BASE = 46_109_396   # LLM-graph base of research/cpu-runtime (43.97 MiB)


def own(r: dict) -> tuple[int, int]:
    """(anon, file) bytes that belong to the model, not the runtime: the resident pages of model.bin
    (measured, smaps) + one repacked/anon copy of the weights (upper bound: the .bin size) + 2x the
    inputs (the client's and one in-graph copy)."""
    file_ = (r.get("smaps_diff") or {}).get("model.bin", [0, 0])[0]
    anon = (r["bin_bytes"] if r["bin_bytes"] > 4096 else 0) + 2 * r["input_bytes"]
    return anon, file_


def runtime(r: dict) -> dict:
    """Peak minus own bytes minus the per-op term: what a kernel family (or the base) costs."""
    a, f = own(r)
    ops = r["ir_ops"] * (PER_OP + PER_OP_THREAD)
    return {"rss": r["peak"]["rss"] - a - f - ops, "anon": r["peak"]["anon"] - a - ops, "file": r["peak"]["file"] - f}


def load(path: Path):
    by = collections.defaultdict(dict)
    fix = collections.defaultdict(dict)
    global MULTI_ROWS
    MULTI_ROWS = collections.defaultdict(dict)
    for line in path.open():
        r = json.loads(line)
        if r["group"] == "multi":
            if not r.get("error"):
                MULTI_ROWS[r["name"]][(r["n"], r["rep"])] = r
            continue
        if r.get("error"):
            print("ERROR", r.get("name"), r["error"])
            continue
        (fix if r["group"] == "fix" else by)[r["name"]][r["rep"]] = r
    return by, fix


def med(xs):
    return statistics.median(xs)


def fam_delta(by, name, ref="trivial_add"):
    """Median over reps of runtime(name) - runtime(ref) paired by rep; half range; anon; file."""
    reps = sorted(set(by[name]) & set(by[ref]))
    d = {k: [runtime(by[name][i])[k] - runtime(by[ref][i])[k] for i in reps] for k in ("rss", "anon", "file")}
    return {"rss": med(d["rss"]), "anon": med(d["anon"]), "file": med(d["file"]),
            "spread": (max(d["rss"]) - min(d["rss"])) / 2, "n": len(reps)}


ATOM_FAMILIES = [n for n in SINGLE if n != "llama_1layer"]


def pageset(r: dict) -> set:
    """(library, page index) of the resident pages of every file mapping but the model's own files."""
    return {(lib, q) for lib, rs in (r.get("pages") or {}).items() if not lib.endswith((".bin", ".xml"))
            for a, b in rs for q in range(a, b)}


def majority(by, name) -> set:
    """Pages resident in at least half of the repetitions of point ``name``."""
    cnt = collections.Counter()
    reps = by[name]
    for r in reps.values():
        cnt.update(pageset(r))
    return {pg for pg, k in cnt.items() if 2 * k >= len(reps)}


def atoms(by, base_pages) -> tuple[dict, dict]:
    """New pages per family (over the base) and the atoms: bytes per signature (the set of families
    whose graphs touch those pages). The code bytes of any set U of families is the sum of the atoms
    whose signature meets U: exact under page sharing."""
    new = {f: majority(by, f) - base_pages for f in ATOM_FAMILIES if f in by}
    sig = collections.defaultdict(set)
    for f, pages in new.items():
        for pg in pages:
            sig[pg].add(f)
    at = collections.Counter()
    for pg, fs in sig.items():
        at[frozenset(fs)] += 4096
    return new, dict(at)


def union_bytes(at: dict, used: set) -> int:
    return sum(b for fs, b in at.items() if fs & used)


def detect(model) -> set[str]:
    """Kernel families a model's IR uses (names of the SINGLE points measured for them)."""
    def src(n, i):
        return n.input(i).get_source_output().get_node()

    def const_root(n, depth=0):
        """The Constant a weight input comes from (through Convert/Reshape/Subtract/Multiply/Transpose)."""
        t = n.get_type_name()
        if t == "Constant":
            return n
        if depth < 6 and t in ("Convert", "Reshape", "Subtract", "Multiply", "Transpose", "Unsqueeze"):
            return const_root(src(n, 0), depth + 1)
        return None

    fams = set()
    types = collections.Counter(o.get_type_name() for o in model.get_ops())
    stateful = bool(model.get_variables())
    for o in model.get_ops():
        t = o.get_type_name()
        if t == "MatMul":
            root = const_root(src(o, 1))  # the plugin makes a FullyConnected only of a constant 2nd input
            if root is None:
                fams.add("matmul_act_dyn")
            else:
                et = root.get_output_element_type(0).get_type_name()
                fams.add("fc_u4_dyn" if et in ("u4", "i4") else "fc_u8_dyn" if et in ("u8", "i8") else "fc_f16_dyn")
        elif t == "ScaledDotProductAttention":
            fams.add("sdpa_kv" if stateful else "sdpa_dyn_mask" if o.get_input_size() > 3 else "sdpa_dyn")
        elif t == "Swish":
            outs = [ti.get_node() for ti in o.output(0).get_target_inputs()]
            gated = any(n.get_type_name() == "Multiply" and any(src(n, i).get_type_name() == "MatMul" for i in (0, 1))
                        for n in outs)
            weight_f16 = src(o, 0).get_type_name() == "MatMul" and (const_root(src(src(o, 0), 1)) is not None) and \
                const_root(src(src(o, 0), 1)).get_output_element_type(0).get_type_name() == "f16"
            fams.add("mlp_f16_dyn" if gated and weight_f16 else "swish_dyn")
        elif t == "ReduceMean":
            fams.add("rms_dyn" if src(o, 0).get_type_name() == "Power" else "reducemean_dyn")
        elif t == "Gather" and const_root(src(o, 0)) is not None and len(src(o, 0).get_output_partial_shape(0)) == 2:
            fams.add("gather_embed")
        elif t == "Convolution":
            fams.add("conv3d_dyn" if o.get_output_partial_shape(0).rank.get_length() == 5 else "conv2d_dyn")
        elif t == "GroupConvolution":
            fams.add("groupconv_static")
        elif t == "MVN":
            fams.add("mvn_dyn")
        elif t == "Softmax":
            fams.add("softmax_dyn")
        elif t == "Gelu":
            fams.add("gelu_tanh" if o.get_attributes().get("approximation_mode", "").upper() == "TANH" else "gelu_erf")
        elif t == "Concat" and any(src(o, i).get_type_name() == "Multiply" and
                                   src(src(o, i), 0).get_type_name() in ("Slice", "VariadicSplit", "StridedSlice")
                                   for i in range(o.get_input_size())):
            fams.add("rope_slice_dyn")
        elif t in ("Sin", "Cos"):
            fams.add("sincos_dyn")
        elif t == "Transpose":
            fams.add("transpose_dyn")
        elif t == "Concat":
            fams.add("concat_dyn")
        elif t == "Interpolate":
            fams.add("interp_cubic")
        elif t == "AvgPool":
            fams.add("avgpool_static")
        elif t == "TopK":
            fams.add("topk_dyn")
    if types.get("Range") or types.get("Select"):
        fams.add("shape_mask_dyn")
    return fams


def main() -> int:
    import openvino as ov

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results.jsonl"
    by, fix = load(path)
    out = []
    p = out.append

    # --- process base ---
    p("## Process base (runtime = peak - own - IR ops x (8.78 KiB + 2 x 85 B))\n")
    p("| graph | IR ops | peak MiB (reps) | anon | file | base MiB | spread |")
    p("|---|---|---|---|---|---|---|")
    for name in ("trivial_add", "trivial_relu", "bare_reshape"):
        rs = [by[name][i] for i in sorted(by[name])]
        rt = [runtime(r) for r in rs]
        p(f"| {name} | {rs[0]['ir_ops']} | {' / '.join('%.2f' % (r['peak']['rss'] / MiB) for r in rs)} | "
          f"{med([r['peak']['anon'] for r in rs]) / MiB:.2f} | {med([r['peak']['file'] for r in rs]) / MiB:.2f} | "
          f"**{med([x['rss'] for x in rt]) / MiB:.2f}** | {(max(x['rss'] for x in rt) - min(x['rss'] for x in rt)) / 2 / MiB:.2f} |")
    base = med([runtime(by["trivial_add"][i])["rss"] for i in by["trivial_add"]])
    base_a = med([runtime(by["trivial_add"][i])["anon"] for i in by["trivial_add"]])
    base_f = med([runtime(by["trivial_add"][i])["file"] for i in by["trivial_add"]])
    p(f"\nprocess base = trivial_add runtime = {base / MiB:.2f} MiB = {base:.0f} B (anon {base_a / MiB:.2f}, file {base_f / MiB:.2f})\n")

    # --- families ---
    fam = {n: fam_delta(by, n) for n in SINGLE if n in by}
    # the stateful SDPA graph carries the causal-mask subgraph: its net SDPA share
    if False:
        reps = sorted(set(by["sdpa_kv"]) & set(by["shape_mask_dyn"]) & set(by["trivial_add"]))
        d = [runtime(by["sdpa_kv"][i])["rss"] - runtime(by["shape_mask_dyn"][i])["rss"] for i in reps]
        da = [runtime(by["sdpa_kv"][i])["anon"] - runtime(by["shape_mask_dyn"][i])["anon"] for i in reps]
        df = [runtime(by["sdpa_kv"][i])["file"] - runtime(by["shape_mask_dyn"][i])["file"] for i in reps]
        fam["sdpa_kv_net"] = {"rss": med(d), "anon": med(da), "file": med(df), "spread": (max(d) - min(d)) / 2,
                              "n": len(reps)}
    p("## Kernel families (first use in a process; over the one-Add graph, 2 threads, bf16 default)\n")
    p("| point | IR op type(s) | conditions | runtime layer types | Δ MiB | ± | anon | file | Δ bytes |")
    p("|---|---|---|---|---|---|---|---|---|")
    skip = {"Input", "Output", "Const", "Eltwise"}
    for n, d in sorted(fam.items(), key=lambda kv: -kv[1]["rss"]):
        if n == "sdpa_kv_net":
            ir, cond, lt = "ScaledDotProductAttention (stateful)", "sdpa_kv − shape_mask_dyn", "ScaledDotProductAttentionWithKVCache"
        else:
            _, ir, cond = SINGLE[n]
            r0 = by[n][min(by[n])]
            lt = ", ".join(sorted(k for k in (r0.get("layer_types") or {}) if k not in skip))
        p(f"| {n} | {ir} | {cond} | {lt} | **{d['rss'] / MiB:.2f}** | {d['spread'] / MiB:.2f} | "
          f"{d['anon'] / MiB:.2f} | {d['file'] / MiB:.2f} | {d['rss']:.0f} |")

    # --- pairs ---
    p("\n## Additivity: graphs with several families\n")
    base_pages = majority(by, "trivial_add")
    new, at = atoms(by, base_pages)
    p("| graph | members | measured Δ MiB | Σ single Δ (flat sum) | shared (Σ − measured) | measured new code pages | "
      "union of the members' pages | Σ anon Δ / measured anon Δ | union + Σ anon − measured |")
    p("|---|---|---|---|---|---|---|---|---|")
    for n, members in PAIRS.items():
        if n not in by:
            continue
        d = fam_delta(by, n)
        s = sum(fam[m]["rss"] for m in members)
        pair_pages = len(majority(by, n) - base_pages) * 4096
        uni = len(set().union(*(new[m] for m in members))) * 4096
        sa = sum(max(0, fam[m]["anon"]) for m in members)
        p(f"| {n} | {' + '.join(members)} | {d['rss'] / MiB:.2f} ± {d['spread'] / MiB:.2f} | {s / MiB:.2f} | "
          f"{(s - d['rss']) / MiB:.2f} | {pair_pages / MiB:.2f} | {uni / MiB:.2f} | {sa / MiB:.2f} / {d['anon'] / MiB:.2f} | "
          f"{(uni + sa - d['rss']) / MiB:+.2f} |")
    # atoms and tiers
    p("\n## Shared code: atoms (bytes of new code pages by the set of families that touch them)\n")
    p(f"{len(at)} atoms over {len(new)} families; total new code pages of all families together "
      f"{sum(at.values()) / MiB:.2f} MiB. Largest atoms:\n")
    p("| bytes MiB | families touching these pages |")
    p("|---|---|")
    for fs, b in sorted(at.items(), key=lambda kv: -kv[1])[:25]:
        label = "ALL but " + ", ".join(sorted(set(new) - fs)) if len(fs) > len(new) / 2 else ", ".join(sorted(fs))
        p(f"| {b / MiB:.2f} | ({len(fs)}) {label} |")
    p("\n### Per family: new code pages alone, and what only it (or its own variants) adds\n")
    p("| point | new code pages alone MiB | exclusive vs all other families | anon Δ |")
    p("|---|---|---|---|")
    for f in sorted(new, key=lambda f: -len(new[f])):
        others = set().union(*(new[g] for g in new if g != f and g.split("_")[0] != f.split("_")[0]))
        p(f"| {f} | {len(new[f]) * 4096 / MiB:.2f} | {len(new[f] - others) * 4096 / MiB:.2f} | {fam[f]['anon'] / MiB:.2f} |")
    json.dump({"base_bytes": base, "per_op_bytes": PER_OP + PER_OP_THREAD,
               "anon": {f: fam[f]["anon"] for f in new},
               "atoms": [{"families": sorted(fs), "bytes": b} for fs, b in sorted(at.items(), key=lambda kv: -kv[1])]},
              open(HERE / "atoms.json", "w"), indent=0)
    if "llama_1layer" in fam:
        pass

    # --- one more compiled model ---
    p("\n## One more compiled model in the same process (multi_compile.py: (n=3 − n=1) / 2)\n")
    p("| graph | per extra compiled model MiB (reps) | anon | file |")
    p("|---|---|---|---|")
    marg = []
    for name, rows in MULTI_ROWS.items():
        reps = sorted({rep for (_, rep) in rows if (1, rep) in rows and (3, rep) in rows})
        d = [(rows[(3, i)]["VmRSS"] - rows[(1, i)]["VmRSS"]) / 2 for i in reps]
        da = med([(rows[(3, i)]["RssAnon"] - rows[(1, i)]["RssAnon"]) / 2 for i in reps])
        df = med([(rows[(3, i)]["RssFile"] - rows[(1, i)]["RssFile"]) / 2 for i in reps])
        marg.append(med(d))
        p(f"| {name} | {med(d):.2f} ({' / '.join('%.2f' % x for x in d)}) | {da:.2f} | {df:.2f} |")
    per_model = med(marg) * MiB if marg else 0
    p(f"\nmedian over graphs: {per_model / MiB:.2f} MiB per extra compiled model (used below for pipelines)\n")

    # --- validation ---
    p("\n## Validation on tests/fixtures\n")
    p("predicted = base + code pages of the union of the families detected in the IR (atoms; union over a "
      "pipeline's parts) + Σ their anon Δ + IR ops × (8.78 KiB + 170 B) + own (2 × .bin) + (compiled models − 1) × the per-model median; flat = base + Σ single Δ "
      "+ per-op + own; old = 43.97 MiB + 8.78 KiB × IR ops + own (the LLM-only fit)\n")
    p("| fixture | how | IR ops | families detected (Δ ≥ 0.3 MiB) | measured MiB (reps) | predicted | resid (meas − pred) "
      "| flat-sum resid | old pred | old resid |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    core = ov.Core()
    rows = []
    for name, reps in sorted(fix.items()):
        r0 = reps[min(reps)]
        path = Path(r0["path"])
        xmls = [path] if path.suffix == ".xml" else (
            [path / "openvino_model.xml"] if r0["kind"] == "llm" else sorted(path.glob("openvino_*.xml")))
        fams, ops, binb = set(), 0, 0
        for x in xmls:
            m = core.read_model(x)
            fams |= detect(m)
            ops += len(m.get_ops())
            binb += x.with_suffix(".bin").stat().st_size
        own_b = 2 * binb
        flat = base + sum(fam[f]["rss"] for f in fams if f in fam) + ops * (PER_OP + PER_OP_THREAD) + own_b
        pred = base + union_bytes(at, fams) + sum(max(0, fam[f]["anon"]) for f in fams if f in fam) \
            + ops * (PER_OP + PER_OP_THREAD) + own_b
        old = OLD_BASE + ops * PER_OP + own_b
        n_models = len(xmls) if r0["kind"] == "vlm" else 1
        pred += (n_models - 1) * per_model
        meas = [reps[i]["peak"] for i in sorted(reps)]
        mm = med(meas)
        how = {"llm": "measure(seq 16)", "vlm": "measure_pipeline(64, prompt 8)", "part": "measure(vision plan 64)"}[r0["kind"]]
        big = sorted((f for f in fams if fam.get(f, {"rss": 0})["rss"] >= 0.3 * MiB), key=lambda f: -fam[f]["rss"])
        rows.append((mm - pred, mm - old))
        p(f"| {name} | {how} | {ops} | {', '.join(big)} | {' / '.join('%.2f' % (x / MiB) for x in meas)} | "
          f"{pred / MiB:.2f} | **{(mm - pred) / MiB:+.2f}** | {(mm - flat) / MiB:+.2f} | {old / MiB:.2f} | "
          f"{(mm - old) / MiB:+.2f} |")
    if rows:
        rms = (sum(a * a for a, _ in rows) / len(rows)) ** 0.5
        rms_old = (sum(b * b for _, b in rows) / len(rows)) ** 0.5
        p(f"\nrms residual: new {rms / MiB:.2f} MiB, old {rms_old / MiB:.2f} MiB; max |new| "
          f"{max(abs(a) for a, _ in rows) / MiB:.2f} MiB")
    out.append("\n## Increments (code pages a family adds on top of others)\n")
    out.append(increments(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
    print("\n".join(out))
    return 0



def increments(path: Path | None = None) -> str:
    """Per family: new code pages alone, on top of an f16 FC, and on top of a whole f16 LLM's families."""
    by, _ = load(path or HERE / "results.jsonl")
    base_pages = majority(by, "trivial_add")
    new, at = atoms(by, base_pages)
    fam = {n: fam_delta(by, n) for n in new}
    llm = {"fc_f16_dyn", "mlp_f16_dyn", "sdpa_kv", "rope_slice_dyn", "shape_mask_dyn", "gather_embed", "rms_dyn",
           "sincos_dyn", "transpose_dyn", "concat_dyn", "reshape_dyn", "matmul_act_dyn"}
    fc, llm_pages = new["fc_f16_dyn"], set().union(*(new[f] for f in llm))
    rows = ["| point | alone: code MiB | anon MiB | + on top of an f16 FC: code MiB | + on top of an f16 LLM: code MiB |",
            "|---|---|---|---|---|"]
    for f in sorted(new, key=lambda f: -len(new[f])):
        rows.append(f"| {f} | {len(new[f]) * 4096 / MiB:.2f} | {fam[f]['anon'] / MiB:.2f} | "
                    f"{len(new[f] - fc) * 4096 / MiB:.2f} | {len(new[f] - llm_pages) * 4096 / MiB:.2f} |")
    rows.append(f"\nf16 LLM family set ({', '.join(sorted(llm))}): code pages {len(llm_pages) * 4096 / MiB:.2f} MiB "
                f"+ anon {sum(max(0, fam[f]['anon']) for f in llm) / MiB:.2f} MiB")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())

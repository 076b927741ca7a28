"""Tables for RESULTS.md from results.jsonl, results_extra.jsonl, estimates.jsonl."""
import json
import re

rows = [json.loads(l) for f in ("results.jsonl", "results_extra.jsonl") for l in open(f)]
est = {(e["model"], e["N"]): e for e in map(json.loads, open("estimates.jsonl"))}
MODELS = ["qwen2-0.5b-int4", "qwen2-0.5b-f16", "llama-3.2-1b-4l-int4", "llama-3.2-1b-4l-f16", "phi-3-mini-4l-int4", "phi-3-mini-4l-f16"]
V = {"qwen": 151936, "llama": 128256, "phi": 32064}


def find(prefix, model, N):
    for r in rows:
        lab = r["label"]
        if lab.startswith(prefix) and model in lab and re.search(rf"N=\[?{N}\]?\b", lab):
            return r
    return None


def final(r):
    return r["rows"][-1] if r["rows"][-1]["stage"].startswith("generate") or r["rows"][-1]["stage"].startswith("infer") else next(x for x in r["rows"] if x["stage"].startswith("infer"))


def stage(r, name):
    return next(x for x in r["rows"] if x["stage"].startswith(name))


print("| model | V | N | estimate | plain-ov PA peak | genai no tokenizer | genai + tokenizer | tokenizer (tok − notok) | pipeline (notok − ov) | model side (ov − est) | total gap (tok − est) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in MODELS:
    for N in (8, 256):
        ov_ = find("ov PA", m, N); nt = find("pipe " + m + " notok", m, N); tk = find("pipe " + m + " tok ", m, N)
        if not (ov_ and nt and tk):
            continue
        e = est[(m, N)]["total_bytes"]
        a = max(x["stage_peak"] for x in ov_["rows"]); b = nt["rows"][-1]["peak_so_far"]; c = tk["rows"][-1]["peak_so_far"]
        v = V[m.split("-")[0].replace("qwen2", "qwen")]
        print(f"| {m} | {v} | {N} | {e:.1f} | {a:.1f} | {b:.1f} | {c:.1f} | {c - b:.1f} | {b - a:.1f} | {a - e:.1f} | {c - e:.1f} |")

print()
print("| model | N | tokenizer anon | tokenizer file | pipeline anon (end) | pipeline file (end) | load: ov compile | load: LLMPipeline notok | load: Tokenizer+LLMPipeline |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in MODELS:
    for N in (8, 256):
        ov_ = find("ov PA", m, N); nt = find("pipe " + m + " notok", m, N); tk = find("pipe " + m + " tok ", m, N)
        if not (ov_ and nt and tk):
            continue
        oe, ne, te = stage(ov_, "infer ("), nt["rows"][-1], tk["rows"][-1]
        print(f"| {m} | {N} | {te['anon'] - ne['anon']:.1f} | {te['file'] - ne['file']:.1f} | {ne['anon'] - oe['anon']:.1f} | {ne['file'] - oe['file']:.1f} | "
              f"{stage(ov_, 'compile')['rss']:.1f} | {stage(nt, 'LLMPipeline')['rss']:.1f} | {stage(tk, 'LLMPipeline')['rss']:.1f} |")

print()
print("tokenizer alone (tok_probe; plugin preloaded unless noplugin)")
print("| V | Tokenizer(dir) adds | anon | file | after 256-word encode + decode | del tokenizer leaves |")
print("|---:|---:|---:|---:|---:|---:|")
for r in rows:
    if r["label"].startswith("tok V="):
        prev = next(x for x in r["rows"] if not x["stage"].startswith("Tokenizer") and x["stage"] != "import openvino_genai" or x["stage"].startswith("CPU")) if any(x["stage"].startswith("CPU") for x in r["rows"]) else r["rows"][0]
        t = stage(r, "Tokenizer"); d = stage(r, "3x"); k = stage(r, "del")
        print(f"| {r['label'][6:]}{'' if any(x['stage'].startswith('CPU') for x in r['rows']) else ' (no plugin preload)'} | {t['rss'] - prev['rss']:.2f} | {t['anon'] - prev['anon']:.2f} | {t['file'] - prev['file']:.2f} | {d['peak_so_far'] - prev['rss']:.2f} | {k['rss'] - prev['rss']:.2f} |")

print()
print("plain ov.Core compile of openvino_tokenizer/detokenizer (ovtok_probe; after CPU plugin preload)")
print("| V | tok consts MiB | detok consts MiB | read tok | compile tok | infer tok | read detok | compile detok | infer detok | total |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    if r["label"].startswith("ovtok V="):
        base = stage(r, "CPU")["rss"]; prev = base; cells = []
        for x in r["rows"]:
            if x["stage"].startswith(("read", "compile", "infer")):
                cells.append(f"{x['rss'] - prev:.2f}"); prev = x["rss"]
            elif x["stage"].startswith("del"):
                prev = x["rss"]
        tc = stage(r, "read openvino_tokenizer")["const_MiB"]; dc = stage(r, "read openvino_detokenizer")["const_MiB"]
        print(f"| {r['label'][8:]} | {tc:.2f} | {dc:.2f} | " + " | ".join(cells) + f" | {prev - base:.2f} |")

print()
print("read_model (+PA transform) of the export: ov::Model in RSS")
print("| model | ops | read_model rss | anon | PA transform rss | after del model |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    if r["label"].startswith("read "):
        a = stage(r, "read_model"); b = stage(r, "PA"); c = stage(r, "del")
        print(f"| {r['label'].split('/')[-1]} | {a['ops']} | {a['rss']:.1f} | {a['anon']:.1f} | {b['rss']:.1f} | {c['rss']:.1f} |")

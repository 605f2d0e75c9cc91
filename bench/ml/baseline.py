#!/usr/bin/env python3
"""Baseline of the ML engine benchmark (issue 4): sentence-transformers on PyTorch CPU, same
models, same truncation, same threads, same batch as the C++ engine. Prints one JSON object.

    ~/.cache/libromind/ref-venv/bin/python bench/ml/baseline.py [--sentences 1000] [--threads 1,2]

Measures:
* embed: sentences/s for N catalogue descriptions (books-000.jsonl onward, in file order) at
  batch 32, per thread count (torch.set_num_threads). sentence-transformers' encode() sorts the
  inputs by length before batching; that is part of what the baseline does.
* query: single short-query embedding latency p50/p99 (ms), batch 1, 1 thread, over Q queries
  (book titles, at most 8 words).
* rerank: cross-encoder pairs/s, per query one batch of 20 (query, catalogue description)
  candidates, over 50 queries, per thread count; also the p50 per query.
  Cross-encoder: MODELS/reranker if installed; otherwise (no pretrained cross-encoder in the
  registries) a stand-in with the same architecture and cost as ms-marco-MiniLM-L-6-v2: the
  embedder's BERT (6 layers, 384 hidden) with its pooler and a seeded random 384->1 classifier,
  saved once (safetensors) to --bench-reranker so the C++ benchmark loads the very same model.
Truncation is each model's own: the embedder's max_seq_length (256), the cross-encoder's
max_length (tokenizer model_max_length, 512). Every phase is warmed up first.
"""
import argparse
import glob
import json
import os
import platform
import resource
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cache_root():
    return os.environ.get("LIBROMIND_CACHE",
                          os.path.join(os.path.expanduser("~"), ".cache", "libromind"))


def default_data_dir():
    d = os.environ.get("LIBROMIND_DATA_DIR", "../shared/data/books")
    return d if os.path.isabs(d) else os.path.normpath(os.path.join(REPO, d))


def load_books(data_dir, n):
    out = []
    for path in sorted(glob.glob(os.path.join(data_dir, "books-*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                b = json.loads(line)
                if b.get("description"):
                    out.append(b)
                    if len(out) >= n:
                        return out
    if len(out) < n:
        sys.exit(f"only {len(out)} books with a description in {data_dir}, wanted {n}")
    return out


def pct(values, p):
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_bench_reranker(embedder_dir, out_dir, seed=4):
    """The embedder's BERT as a BertForSequenceClassification with a seeded 384->1 head."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification
    if os.path.exists(os.path.join(out_dir, "model.safetensors")):
        return out_dir
    torch.manual_seed(seed)
    model = BertForSequenceClassification.from_pretrained(embedder_dir, num_labels=1)
    model.config.architectures = ["BertForSequenceClassification"]
    tok = AutoTokenizer.from_pretrained(embedder_dir)
    tmp = out_dir + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    import shutil
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        src = os.path.join(embedder_dir, name)
        if os.path.exists(src) and not os.path.exists(os.path.join(tmp, name)):
            shutil.copyfile(src, os.path.join(tmp, name))
    shutil.copyfile(os.path.join(embedder_dir, "vocab.txt"), os.path.join(tmp, "vocab.txt"))
    import hashlib
    with open(os.path.join(tmp, "SHA256SUMS"), "w", encoding="utf-8") as out:
        for n in sorted(os.listdir(tmp)):
            if os.path.isfile(os.path.join(tmp, n)) and n != "SHA256SUMS":
                with open(os.path.join(tmp, n), "rb") as f:
                    out.write(f"{hashlib.sha256(f.read()).hexdigest()}  {n}\n")
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=os.environ.get(
        "LIBROMIND_MODEL_DIR", os.path.join(cache_root(), "models")))
    ap.add_argument("--data", default=default_data_dir())
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rerank-queries", type=int, default=50)
    ap.add_argument("--candidates", type=int, default=20)
    ap.add_argument("--bench-reranker", default=os.path.join(cache_root(), "bench",
                                                             "minilm-cross-encoder"),
                    help="where the stand-in cross-encoder is saved when no reranker is installed")
    ap.add_argument("--skip-rerank", action="store_true")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",") if t]

    import torch
    import sentence_transformers
    import transformers
    from sentence_transformers import CrossEncoder, SentenceTransformer
    torch.set_num_interop_threads(1)

    emb_dir = os.path.join(args.models, "embedder")
    books = load_books(args.data, max(args.sentences, args.rerank_queries * args.candidates))
    descs = [b["description"] for b in books]
    titles = [" ".join(b["title"].split()[:8]) for b in books]

    result = {
        "implementation": "sentence-transformers on PyTorch (CPU)",
        "versions": {"torch": torch.__version__, "sentence_transformers":
                     sentence_transformers.__version__, "transformers": transformers.__version__,
                     "python": platform.python_version()},
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
    }

    rss0 = rss_mb()
    model = SentenceTransformer(emb_dir, device="cpu", local_files_only=True)
    model.eval()
    result["embedder"] = {"dir": emb_dir, "max_seq_length": model.max_seq_length,
                          "peak_rss_mb_after_imports": round(rss0, 1),
                          "peak_rss_mb_after_load": round(rss_mb(), 1)}

    texts = descs[:args.sentences]
    ntok = model.tokenize(texts)["attention_mask"].sum(dim=1).tolist()
    embed = {"sentences": len(texts), "batch": args.batch,
             "mean_tokens": round(sum(ntok) / len(ntok), 1),
             "truncated": sum(1 for n in ntok if n >= model.max_seq_length)}
    for t in threads:
        torch.set_num_threads(t)
        with torch.inference_mode():
            model.encode(texts[:args.batch * 2], batch_size=args.batch, show_progress_bar=False)
            t0 = time.perf_counter()
            model.encode(texts, batch_size=args.batch, show_progress_bar=False,
                         convert_to_numpy=True)
            dt = time.perf_counter() - t0
        embed[f"threads_{t}"] = {"seconds": round(dt, 3), "sentences_per_s": round(len(texts) / dt, 1)}
    result["embed"] = embed

    torch.set_num_threads(1)
    queries = titles[:args.queries]
    lat = []
    with torch.inference_mode():
        for q in queries[:20]:
            model.encode([q], batch_size=1, show_progress_bar=False)
        for q in queries:
            t0 = time.perf_counter()
            model.encode([q], batch_size=1, show_progress_bar=False, convert_to_numpy=True)
            lat.append((time.perf_counter() - t0) * 1000.0)
    result["query"] = {"queries": len(queries), "threads": 1,
                       "mean_tokens": round(statistics.mean(
                           model.tokenize(queries)["attention_mask"].sum(dim=1).tolist()), 1),
                       "p50_ms": round(pct(lat, 50), 3), "p99_ms": round(pct(lat, 99), 3),
                       "mean_ms": round(statistics.mean(lat), 3)}
    result["embedder"]["peak_rss_mb_after_queries"] = round(rss_mb(), 1)

    if not args.skip_rerank:
        rr_dir = os.path.join(args.models, "reranker")
        kind = "pretrained"
        if not os.path.isdir(rr_dir):
            rr_dir = make_bench_reranker(emb_dir, args.bench_reranker)
            kind = "stand-in: all-MiniLM-L6-v2 encoder + seeded random classifier (cost of ms-marco-MiniLM-L-6-v2)"
        ce = CrossEncoder(rr_dir, device="cpu", local_files_only=True)
        ce.model.eval()
        ml = getattr(ce, "max_seq_length", None) or ce.tokenizer.model_max_length
        groups = []
        for qi in range(args.rerank_queries):
            q = titles[(qi * 7) % len(titles)]
            cands = descs[qi * args.candidates:(qi + 1) * args.candidates]
            groups.append([(q, d) for d in cands])
        lens = [len(x) for g in groups for x in ce.tokenizer(
            [p[0] for p in g], [p[1] for p in g], truncation="longest_first",
            max_length=ml)["input_ids"]]
        rerank = {"dir": rr_dir, "model": kind, "max_length": ml, "queries": len(groups),
                  "candidates": args.candidates, "batch": args.candidates,
                  "mean_pair_tokens": round(sum(lens) / len(lens), 1)}
        for t in threads:
            torch.set_num_threads(t)
            with torch.inference_mode():
                for g in groups[:3]:
                    ce.predict(g, batch_size=args.candidates, show_progress_bar=False)
                per = []
                t0 = time.perf_counter()
                for g in groups:
                    t1 = time.perf_counter()
                    ce.predict(g, batch_size=args.candidates, show_progress_bar=False,
                               convert_to_numpy=True)
                    per.append((time.perf_counter() - t1) * 1000.0)
                dt = time.perf_counter() - t0
            n = sum(len(g) for g in groups)
            rerank[f"threads_{t}"] = {"seconds": round(dt, 3), "pairs_per_s": round(n / dt, 1),
                                      "per_query_p50_ms": round(pct(per, 50), 2)}
        result["rerank"] = rerank
    result["peak_rss_mb"] = round(rss_mb(), 1)
    result["note"] = ("RSS is the process peak (ru_maxrss): it includes torch and the CUDA libraries "
                      "its PyPI build loads even on a CPU-only run (about 0.7 GB before any model)")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

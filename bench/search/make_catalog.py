#!/usr/bin/env python3
"""A larger catalogue for the search benchmark, made from the shipped one with perturbed text.

Writes the shipped books unchanged, then synthetic books until --books is reached. Each
synthetic book takes a shipped book (in a fixed pseudo-random order) and perturbs it so that
its text, and so its embedding, differs: sentences of the description are shuffled, about one
word in eight is dropped or swapped with its neighbour, a series word is added to the title, and
the genres are a random non-empty subset. Ids are `gen-<n>` (valid catalogue ids), ISBNs are
dropped (they must stay unique), everything else is kept. Deterministic for a given --seed.

  bench/search/make_catalog.py --books 200000 --out ~/.cache/libromind/bench/books-200k.jsonl

Import it with `libromind import` and embed it with `libromind index` (the benchmark states the
embedding time).
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import re
from pathlib import Path

SERIES = ["Revisited", "Retold", "Annotated", "Abridged", "Illustrated", "Collected", "Second Book",
          "A New Translation", "Companion", "Omnibus", "Selected", "Notes", "Sequel", "Tales"]


def perturb_text(rng: random.Random, text: str) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    rng.shuffle(sentences)
    out = []
    for s in sentences:
        words = s.split()
        i = 0
        kept = []
        while i < len(words):
            r = rng.random()
            if r < 0.06 and len(words) > 4:
                i += 1  # drop
                continue
            if r < 0.12 and i + 1 < len(words):
                kept += [words[i + 1], words[i]]  # swap with the neighbour
                i += 2
                continue
            kept.append(words[i])
            i += 1
        out.append(" ".join(kept))
    return " ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--books", type=int, default=200_000)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / ".." / "shared" /
                                          "data" / "books"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    shipped = []
    for f in sorted(glob.glob(str(Path(a.data) / "books-*.jsonl"))):
        with open(f, encoding="utf-8") as fh:
            shipped += [json.loads(line) for line in fh if line.strip()]
    if not shipped:
        raise SystemExit(f"no books-*.jsonl in {a.data}")
    order = list(range(len(shipped)))
    rng.shuffle(order)
    n = 0
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as out:
        for b in shipped[: a.books]:
            out.write(json.dumps(b, ensure_ascii=False) + "\n")
            n += 1
        k = 0
        while n < a.books:
            src = shipped[order[k % len(order)]]
            k += 1
            b = dict(src)
            b["id"] = f"gen-{k}"
            b["title"] = f"{src['title']}: {rng.choice(SERIES)}"[:500]
            b["description"] = perturb_text(rng, src.get("description") or src["title"])
            genres = list(src.get("genres") or [])
            if genres:
                b["genres"] = rng.sample(genres, rng.randint(1, len(genres)))
            b["isbn13"] = None
            b["downloads"] = rng.randint(0, max(1, int(src.get("downloads") or 0)))
            out.write(json.dumps(b, ensure_ascii=False) + "\n")
            n += 1
    print(json.dumps({"books": n, "shipped": min(len(shipped), a.books),
                      "synthetic": max(0, n - len(shipped)), "out": a.out}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Computes the reference outputs the C++ ML engine must match, with the reference implementation
(sentence-transformers / transformers on PyTorch), fully offline.

    tools/setup-ref-venv.sh                      # once: the venv with the reference implementation
    scripts/fetch-models.sh                      # once: the models, verified
    ~/.cache/libromind/ref-venv/bin/python tools/make_parity_fixtures.py [--models DIR] [--out DIR]

Writes into --out (default tests/ml/fixtures/):

* embedder_parity.json: for each text, the token ids the model's tokenizer gives (special tokens
  included, truncated at the model's max_seq_length), the tokens, and the sentence embedding as
  the model's pipeline outputs it (Transformer -> Pooling -> Normalize), float32 printed with 9
  significant digits (enough to round-trip a float32 exactly).
* reranker_parity.json: only when MODELS/reranker exists (a pretrained cross-encoder): per
  (query, document) pair the input_ids / token_type_ids of the pair encoding, the raw logit and
  its sigmoid.
* tiny-cross-encoder/ + tiny_reranker_parity.json (with --tiny-reranker, the default): a small
  randomly initialised BertForSequenceClassification (seeded, saved as safetensors with a
  reduced vocabulary) and the same pair outputs for it, so the cross-encoder path is proven
  without a pretrained cross-encoder.

Deterministic: same inputs, same model, same library versions -> same file.
"""
import argparse
import json
import math
import os
import random
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_models_dir():
    return os.environ.get("LIBROMIND_MODEL_DIR",
                          os.path.join(os.path.expanduser("~"), ".cache", "libromind", "models"))


def default_data_dir():
    d = os.environ.get("LIBROMIND_DATA_DIR", "../shared/data/books")
    return d if os.path.isabs(d) else os.path.normpath(os.path.join(REPO, d))


# ---------------------------------------------------------------------------------------------
# Inputs

def read_books(path, limit=None):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
                if limit and len(out) >= limit:
                    break
    return out


def long_text(descriptions, words=5000):
    """About `words` real words, deterministically, from catalogue descriptions."""
    pool = " ".join(descriptions).split()
    out = []
    i = 0
    while len(out) < words:
        out.append(pool[i % len(pool)])
        i += 1
    return " ".join(out)


def embedder_texts(books):
    descs = [b["description"] for b in books if b.get("description")]
    items = []

    def add(category, *texts):
        for t in texts:
            items.append((category, t))

    add("english",
        "The quick brown fox jumps over the lazy dog.",
        "A mystery novel set in Victorian London, with a detective and a missing heiress.",
        "Pride and Prejudice",
        "It was the best of times, it was the worst of times.",
        "Hello, world!",
        "THE GREAT GATSBY by F. Scott Fitzgerald",
        "iPhone, McDonald's and O'Reilly's unbelievably un-American-ness")
    add("accents",
        "café",
        "naïve café au lait",
        "Ærøskøbing is a small town on the island of Ærø.",
        "The façade of the château was crumbling.",
        "Crème brûlée à la française, s'il vous plaît",
        "São Paulo, Bogotá, Kraków, Reykjavík, Zürich",
        "Łódź, Żółć, Ångström, Dvořák, Erdős",
        "decomposed e\u0301 and n\u0303 (combining marks)",
        "Tiếng Việt có dấu")
    add("german",
        "Die Straße ist groß und die Füße sind müde.",
        "Fußball, Maßkrug und Weißbier",
        "Capital sharp s: GROẞE STRAẞE")
    add("greek",
        "Η Οδύσσεια είναι έπος του Ομήρου.",
        "Μῆνιν ἄειδε θεὰ Πηληϊάδεω Ἀχιλῆος")
    add("cyrillic",
        "Война и мир — роман Льва Толстого.",
        "Ёжик в тумане и Преступление и наказание")
    add("cjk",
        "红楼梦是中国古典四大名著之一。",
        "羅生門",
        "吾輩は猫である。名前はまだ無い。",
        "カタカナとひらがなの混じった文です",
        "한국어 문장입니다. 책을 좋아해요.",
        "Tokyo 東京 2024年 ｆｕｌｌｗｉｄｔｈ ＡＢＣ")
    add("other-scripts",
        "مرحبا بالعالم، هذا كتاب جميل",
        "שלום עולם",
        "नमस्ते दुनिया, यह एक किताब है",
        "สวัสดีครับ นี่คือหนังสือ")
    add("emoji",
        "I love books 📚❤️",
        "👨‍👩‍👧‍👦 a family reading together",
        "🏳️‍🌈 and 👍🏽 and 🧑🏾‍💻",
        "😀😃😄😁😆")
    add("control",
        "tab\tseparated\tvalues",
        "line one\nline two\r\nline three",
        "null\u0000byte in the middle",
        "bell\u0007 and escape\u001b[0m sequences",
        "zero\u200bwidth space, non\u200cjoiner, joiner\u200d",
        "soft\u00adhyphen and non\u00a0breaking space",
        "\ufeffbyte order mark at the start",
        "C1 control \u0085 next line and private use \ue000 and \ufffd replacement")
    add("empty", "")
    add("whitespace", "   ", "\t\n  \r\n ")
    add("long", long_text(descs, 5000))
    add("long-word",
        "a" * 300,
        "supercalifragilisticexpialidocious antidisestablishmentarianism")
    add("punctuation",
        "!!!???...,,,;;;:::",
        "Hello...world!?! (yes) [no] {maybe} <tag> \"quoted\" 'single' — em–dash … ellipsis",
        "$100.00 @user #hashtag &amp; 50% off* ~tilde^caret|pipe\\backslash",
        "C++ & C# vs. F# — «guillemets» „low-high“ ‘curly’ “quotes”")
    add("numbers",
        "3.14159 2.71828 1,000,000 -42 1e-10",
        "ISBN 978-0-14-143951-8",
        "1984",
        "٣ ٤ ٥ Arabic-Indic digits and ½ ¾ ² fractions")
    add("url",
        "https://www.gutenberg.org/ebooks/1342 contact@example.com")
    add("query",
        "books about whales",
        "sci-fi with robots",
        "victorian ghost stories",
        "best cookbook for beginners",
        "poetry by Emily Dickinson",
        "history of the roman empire",
        "funny novels for a long train ride",
        "moby dick")
    # 20 real catalogue descriptions, spread over the sample (which spans the genres).
    step = max(1, len(descs) // 20)
    for d in descs[::step][:20]:
        add("catalogue", d)
    return items


def reranker_pairs(books):
    descs = [b["description"] for b in books if b.get("description")]
    queries = ["books about whales", "victorian ghost stories", "history of the roman empire",
               "a love story in the countryside", "science fiction about space travel",
               "children's adventure with animals"]
    pairs = []
    for qi, q in enumerate(queries):
        for k in range(5):
            pairs.append(("catalogue", q, descs[(qi * 37 + k * 11) % len(descs)]))
    pairs += [
        ("empty-doc", "books about whales", ""),
        ("empty-query", "", descs[0]),
        ("both-empty", "", ""),
        ("long-doc", "victorian ghost stories", long_text(descs, 3000)),
        ("long-query", long_text(descs[5:], 400), descs[3]),
        ("non-english", "Krieg und Frieden", "Война и мир — роман Льва Толстого о войне 1812 года."),
        ("non-english", "roman d'amour", "La Chartreuse de Parme est un roman de Stendhal, publié en 1839."),
        ("non-english", "猫の小説", "吾輩は猫である。名前はまだ無い。夏目漱石の小説。"),
        ("accents-emoji", "café naïve façade 📚", "Ærøskøbing, São Paulo 👨‍👩‍👧‍👦 and Straße"),
        ("whitespace", "   ", "\t\n"),
    ]
    return pairs


# ---------------------------------------------------------------------------------------------
# Output

def f32(x):
    """A float32 value printed with 9 significant digits: round-trips exactly."""
    return float("%.9g" % float(x))


def write_lines_json(path, head, key, rows):
    """JSON with one record per line: readable diffs, modest size."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        for k, v in head.items():
            f.write(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n")
        f.write(f"  {json.dumps(key)}: [\n")
        for i, r in enumerate(rows):
            sep = "," if i + 1 < len(rows) else ""
            f.write("    " + json.dumps(r, ensure_ascii=False, separators=(",", ":")) + sep + "\n")
        f.write("  ]\n}\n")


def versions():
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    return {"sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "torch": torch.__version__}


def preprocess(model, inputs):
    """The library's own tokenisation (sentence-transformers 6: preprocess; older: tokenize)."""
    fn = getattr(model, "preprocess", None) or model.tokenize
    return fn(inputs)


def manifest_entry(role):
    """Which model and package the fixture was made from (models/manifest.json)."""
    try:
        with open(os.path.join(REPO, "models", "manifest.json"), encoding="utf-8") as f:
            m = json.load(f)["models"][role]
    except (OSError, KeyError, ValueError):
        return role
    return {"name": m["name"], "upstream": m["upstream"],
            "package": f"{m['package']['name']}=={m['package']['version']}",
            "weights_sha256": next((x["sha256"] for x in m["files"]
                                    if x["install_as"] == "model.safetensors"), None)}


def special_ids(tok):
    return {name: getattr(tok, name + "_id") for name in
            ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")}


def tokenizer_flags(model_dir, tok):
    cfg = {}
    p = os.path.join(model_dir, "tokenizer_config.json")
    if os.path.exists(p):
        with open(p, encoding="utf-8") as f:
            cfg = json.load(f)
    return {"do_lower_case": cfg.get("do_lower_case", getattr(tok, "do_lower_case", None)),
            "strip_accents": cfg.get("strip_accents"),
            "tokenize_chinese_chars": cfg.get("tokenize_chinese_chars", True),
            "tokenizer_class": type(tok).__name__}


# ---------------------------------------------------------------------------------------------
# Embedder

def make_embedder(model_dir, books, out_dir):
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
    model.eval()
    tok = model.tokenizer
    sbert_cfg = {}
    p = os.path.join(model_dir, "sentence_bert_config.json")
    if os.path.exists(p):
        with open(p, encoding="utf-8") as f:
            sbert_cfg = json.load(f)

    rows = []
    for category, text in embedder_texts(books):
        feats = preprocess(model, [text])
        ids = [int(i) for i in feats["input_ids"][0].tolist()]
        # One text per call: no padding, the plain reference value.
        with torch.inference_mode():
            emb = model.encode([text], batch_size=1, convert_to_numpy=True,
                               show_progress_bar=False)[0].astype(np.float32)
        rows.append({"category": category, "text": text, "input_ids": ids,
                     "tokens": tok.convert_ids_to_tokens(ids),
                     "embedding": [f32(x) for x in emb]})
        n = float(np.linalg.norm(emb.astype(np.float64)))
        if not math.isfinite(n) or abs(n - 1.0) > 1e-3:
            sys.exit(f"embedding of {text[:40]!r} has norm {n}: is the Normalize module loaded?")

    head = {
        "about": "Reference outputs of the embedder (tools/make_parity_fixtures.py). Match: "
                 "input_ids exactly; embedding cosine >= 0.9999 and max abs difference <= 1e-4.",
        "model": manifest_entry("embedder"),
        "modules": [type(m).__name__ for m in model],
        "max_seq_length": model.max_seq_length,
        "sentence_bert_config": sbert_cfg,
        "tokenizer": tokenizer_flags(model_dir, tok),
        "special_token_ids": special_ids(tok),
        "dimension": len(rows[0]["embedding"]),
        "versions": versions(),
        "count": len(rows),
    }
    path = os.path.join(out_dir, "embedder_parity.json")
    write_lines_json(path, head, "cases", rows)
    return path, rows


# ---------------------------------------------------------------------------------------------
# Cross-encoder

def cross_encoder_rows(model_dir, pairs, max_length=None):
    import torch
    from sentence_transformers import CrossEncoder

    kw = {"device": "cpu", "local_files_only": True}
    if max_length:
        kw["max_length"] = max_length
    ce = CrossEncoder(model_dir, **kw)
    ce.model.eval()
    tok = ce.tokenizer
    ml = getattr(ce, "max_seq_length", None) or tok.model_max_length
    rows = []
    for category, q, d in pairs:
        # The library's own pair encoding (longest_first truncation at max_seq_length).
        enc = preprocess(ce, [(q, d)])
        with torch.inference_mode():
            out = ce.model(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"],
                           attention_mask=enc["attention_mask"])
        logit = float(out.logits[0][0])
        # Cross-check with the library's own predict path (no activation).
        raw = ce.predict([(q, d)], activation_fn=torch.nn.Identity(), batch_size=1,
                         show_progress_bar=False, convert_to_numpy=True)
        raw = float(raw[0])
        if abs(raw - logit) > 1e-5:
            sys.exit(f"CrossEncoder.predict ({raw}) and the model ({logit}) differ: "
                     "the tokenisation here is not the library's")
        rows.append({"category": category, "query": q, "document": d,
                     "input_ids": [int(i) for i in enc["input_ids"][0].tolist()],
                     "token_type_ids": [int(i) for i in enc["token_type_ids"][0].tolist()],
                     "logit": f32(logit), "score": f32(1.0 / (1.0 + math.exp(-logit)))})
    head = {
        "max_length": ml,
        "tokenizer": tokenizer_flags(model_dir, tok),
        "special_token_ids": special_ids(tok),
        "num_labels": ce.model.config.num_labels,
        "versions": versions(),
        "count": len(rows),
    }
    return head, rows


def make_tiny_cross_encoder(src_vocab, out_dir, seed=20261124, vocab_lines=4000):
    """A small seeded BertForSequenceClassification (num_labels=1), saved as safetensors."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    d = os.path.join(out_dir, "tiny-cross-encoder")
    if os.path.isdir(d):
        import shutil
        shutil.rmtree(d)
    os.makedirs(d)
    with open(src_vocab, encoding="utf-8") as f:
        full = [line.rstrip("\n") for line in f]
    vocab = [t for i, t in enumerate(full)
             if i < vocab_lines or (t.startswith("##") and len(t) == 3)]
    # The vocabulary's head has the specials, the single characters (with their ##forms) and
    # the commonest words, so text still splits into real word pieces.
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    vocab_path = os.path.join(d, "vocab.txt")
    flags = dict(do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None,
                 model_max_length=128)
    try:  # transformers 5 names the argument `vocab`, 4 `vocab_file`
        tok = BertTokenizer(vocab=vocab_path, **flags)
    except TypeError:
        tok = BertTokenizer(vocab_file=vocab_path, **flags)
    got = tok.get_vocab()
    if len(got) != len(vocab) or any(got.get(t) != i for i, t in enumerate(vocab)):
        sys.exit("the tiny tokenizer did not take vocab.txt")
    tok.save_pretrained(d)
    with open(vocab_path, "w", encoding="utf-8") as f:  # save_pretrained may not write it
        f.write("\n".join(vocab) + "\n")

    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=64, max_position_embeddings=128,
                     type_vocab_size=2, hidden_act="gelu", num_labels=1, initializer_range=0.2,
                     layer_norm_eps=1e-12, architectures=["BertForSequenceClassification"])
    model = BertForSequenceClassification(cfg)
    # Every parameter must matter: randomise the LayerNorm gains and all biases as well (the
    # default initialisation makes them 1 and 0, which would hide a swapped or missing tensor).
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        # A wider head spreads the logits over a few units, so an error anywhere shows.
        model.classifier.weight.mul_(5.0)
    model.eval()
    model.save_pretrained(d, safe_serialization=True)
    write_sha256sums(d)
    return d


def write_sha256sums(d):
    """SHA256SUMS beside the files, as scripts/fetch-models.sh writes it for installed models."""
    import hashlib
    lines = []
    for root, _, names in os.walk(d):
        for n in sorted(names):
            if n == "SHA256SUMS":
                continue
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                lines.append(f"{hashlib.sha256(f.read()).hexdigest()}  {os.path.relpath(p, d)}\n")
    with open(os.path.join(d, "SHA256SUMS"), "w", encoding="utf-8") as f:
        f.write("".join(sorted(lines, key=lambda l: l[66:])))


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=default_models_dir(),
                    help="installed models (scripts/fetch-models.sh), with embedder/ [reranker/]")
    ap.add_argument("--data", default=os.path.join(default_data_dir(), "sample-200.jsonl"))
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "ml", "fixtures"))
    ap.add_argument("--no-tiny-reranker", action="store_true",
                    help="do not (re)make tiny-cross-encoder/ and tiny_reranker_parity.json")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    random.seed(0)

    books = read_books(args.data)
    os.makedirs(args.out, exist_ok=True)

    emb_dir = os.path.join(args.models, "embedder")
    path, rows = make_embedder(emb_dir, books, args.out)
    print(f"{path}: {len(rows)} texts", file=sys.stderr)

    pairs = reranker_pairs(books)
    rr_dir = os.path.join(args.models, "reranker")
    if os.path.isdir(rr_dir):
        head, rows = cross_encoder_rows(rr_dir, pairs)
        head = {"about": "Reference outputs of the pretrained cross-encoder. Match: input_ids and "
                         "token_type_ids exactly; logit within 1e-4.",
                "model": manifest_entry("reranker"), **head}
        path = os.path.join(args.out, "reranker_parity.json")
        write_lines_json(path, head, "pairs", rows)
        print(f"{path}: {len(rows)} pairs", file=sys.stderr)
    else:
        print(f"no pretrained cross-encoder in {rr_dir}: reranker_parity.json not made",
              file=sys.stderr)

    if not args.no_tiny_reranker:
        tiny = make_tiny_cross_encoder(os.path.join(emb_dir, "vocab.txt"), args.out)
        head, rows = cross_encoder_rows(tiny, pairs, max_length=128)
        head = {"about": "Reference outputs of tiny-cross-encoder/ (a seeded, randomly initialised "
                         "BertForSequenceClassification: 2 layers, hidden 32, 4 heads, the first "
                         "4000 entries of the MiniLM vocabulary plus its ##x single-character pieces, max_length 128). Match: "
                         "input_ids and token_type_ids exactly; logit within 1e-4.",
                "model": "tiny-cross-encoder", **head}
        path = os.path.join(args.out, "tiny_reranker_parity.json")
        write_lines_json(path, head, "pairs", rows)
        print(f"{path}: {len(rows)} pairs", file=sys.stderr)


if __name__ == "__main__":
    main()

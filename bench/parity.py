#!/usr/bin/env python3
"""Checks that the benchmarked implementations answer the three endpoints with the same JSON.

    parity.py --book-id pg-84 --genre 'Science-Fiction & Fantasy' [--out parity.json] \
        NAME=BASE_URL NAME=BASE_URL ...

The first NAME is the reference. `next_cursor` is opaque (each implementation encodes its own),
so only its presence is compared; a different order of object keys is reported as a note only. Prints a summary; exits 1 when a response differs or is not 200.
Standard library only.
"""
import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return None, str(e).encode()


def normalise(doc):
    if isinstance(doc, dict) and "next_cursor" in doc:
        doc = dict(doc)
        doc["next_cursor"] = "<present>" if doc["next_cursor"] else None
    return doc


def diff(a, b, where="$", out=None, notes=None, limit=10):
    """Paths where a and b differ (values, types, keys, order of array items), at most `limit`.
    A different order of an object's keys is only a note: JSON objects are unordered, and the
    work to produce them is the same."""
    out = [] if out is None else out
    notes = [] if notes is None else notes
    if len(out) >= limit:
        return out, notes
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out.append(f"{where}: keys {sorted(set(a) - set(b))} only left, "
                       f"{sorted(set(b) - set(a))} only right")
        elif list(a) != list(b) and len(notes) < limit:
            notes.append(f"{where}: key order {list(a)} vs {list(b)}")
        for k in a:
            if k in b:
                diff(a[k], b[k], f"{where}.{k}", out, notes, limit)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{where}[{i}]", out, notes, limit)
    elif type(a) is not type(b) or a != b:
        # 1 and 1.0 are different JSON texts; report them too.
        out.append(f"{where}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}")
    return out, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--book-id", required=True)
    ap.add_argument("--genre", required=True)
    ap.add_argument("--out")
    ap.add_argument("targets", nargs="+", metavar="NAME=BASE_URL")
    args = ap.parse_args()
    targets = [t.split("=", 1) for t in args.targets]
    paths = {
        "list": "/api/v1/books?limit=20",
        "detail": f"/api/v1/books/{urllib.parse.quote(args.book_id)}",
        "genre": f"/api/v1/books?genre={urllib.parse.quote(args.genre, safe='')}&sort=rating",
    }
    result, ok = {}, True
    for endpoint, path in paths.items():
        entry = {"path": path, "targets": {}, "equal": True, "diffs": {}, "notes": {}}
        ref_name, ref_doc = None, None
        for name, base in targets:
            status, body = fetch(base.rstrip("/") + path)
            info = {"status": status, "bytes": len(body)}
            doc = None
            if status == 200:
                try:
                    doc = json.loads(body)
                except ValueError:
                    info["error"] = "not JSON"
            else:
                info["error"] = body[:200].decode("utf-8", "replace")
            if isinstance(doc, dict) and isinstance(doc.get("items"), list):
                info["items"] = len(doc["items"])
                info["has_more"] = doc.get("has_more")
            entry["targets"][name] = info
            if doc is None:
                entry["equal"] = False
                continue
            doc = normalise(doc)
            if ref_name is None:
                ref_name, ref_doc = name, doc
            else:
                d, notes = diff(ref_doc, doc)
                if d:
                    entry["equal"] = False
                    entry["diffs"][f"{ref_name} vs {name}"] = d
                if notes:
                    entry["notes"][f"{ref_name} vs {name}"] = notes[:3]
        ok &= entry["equal"]
        result[endpoint] = entry
        sizes = ", ".join(f"{n} {i['status']} {i['bytes']} B" for n, i in entry["targets"].items())
        print(f"parity {endpoint}: {'same' if entry['equal'] else 'DIFFERENT'} ({sizes})")
        for pair, d in entry["diffs"].items():
            for line in d:
                print(f"  {pair}: {line}")
        for pair, d in entry["notes"].items():
            print(f"  note, {pair}: {d[0]}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

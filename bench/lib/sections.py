"""Replaces one named section of docs/benchmarks.md, so each benchmark script owns its part.

A section is the text between `<!-- section:NAME -->` and `<!-- /section:NAME -->`; a missing
section is appended. The page's own heading stays at the top.
"""
import os

HEADER = ("# Benchmarks\n\nEach section is written by the script it names, from one run on one "
          "machine; the baseline of each comparison was measured in the same run.\n")


def write_section(path, name, body):
    begin, end = f"<!-- section:{name} -->", f"<!-- /section:{name} -->"
    text = open(path).read() if os.path.exists(path) else HEADER
    if not text.startswith("# Benchmarks"):
        text = HEADER
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

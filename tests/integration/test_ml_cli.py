"""`libromind embed` and `libromind rerank` with the real installed model (scripts/fetch-models.sh)
and the tiny reference cross-encoder fixture: output shape, meaning, and bad input."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lm_support import BIN, REPO_ROOT

MODEL_DIR = Path(os.environ.get("LIBROMIND_MODEL_DIR",
                                Path.home() / ".cache" / "libromind" / "models"))
TINY_CE = REPO_ROOT / "tests" / "ml" / "fixtures" / "tiny-cross-encoder"

pytestmark = pytest.mark.skipif(
    not (MODEL_DIR / "embedder" / "model.safetensors").exists()
    and not os.environ.get("LIBROMIND_REQUIRE_MODELS"),
    reason="no embedder installed (scripts/fetch-models.sh)")


def run(*args: str, stdin: bytes | None = None, model_dir: Path = MODEL_DIR,
        timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, LIBROMIND_MODEL_DIR=str(model_dir))
    return subprocess.run([str(BIN), *args], input=stdin, capture_output=True, env=env,
                          timeout=timeout)


def vectors(out: bytes) -> list[list[float]]:
    return [json.loads(line)["embedding"] for line in out.decode().splitlines()]


def cos(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_embed_gives_one_unit_vector_of_384_dims_per_text():
    r = run("embed", "a whaling voyage", "a cookbook of french desserts")
    assert r.returncode == 0, r.stderr
    vs = vectors(r.stdout)
    assert len(vs) == 2
    for v in vs:
        assert len(v) == 384
        assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, abs_tol=1e-4)


def test_embeddings_carry_meaning():
    r = run("embed", "a sea captain hunts a white whale",
            "Moby Dick: Ahab pursues the great whale across the ocean",
            "recipes for bread, cakes and pastries")
    q, whale, baking = vectors(r.stdout)
    assert cos(q, whale) > cos(q, baking) + 0.2


def test_embed_reads_stdin_lines_when_no_text_is_given():
    r = run("embed", stdin=b"first line\nsecond line\n")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["text"] for x in lines] == ["first line", "second line"]


def test_invalid_utf8_and_empty_text_are_embedded_not_crashed():
    r = run("embed", stdin=b"caf\xff\xfe bar\n\n")
    assert r.returncode == 0, r.stderr
    vs = vectors(r.stdout)
    assert len(vs) == 2 and all(len(v) == 384 for v in vs)


def test_a_10_mb_text_is_truncated_and_finishes():
    text = ("the long and winding road of a novel " * 300_000)[:10_000_000].encode()
    r = run("embed", stdin=text + b"\n", timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(vectors(r.stdout)) == 1


def test_missing_model_is_a_clear_error(tmp_path):
    r = run("embed", "x", model_dir=tmp_path)
    assert r.returncode == 2
    assert b"fetch-models.sh" in r.stderr


def test_corrupt_weights_are_refused_naming_the_file_and_expected_hash(tmp_path):
    shutil.copytree(MODEL_DIR / "embedder", tmp_path / "embedder")
    weights = tmp_path / "embedder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    expected = next(line.split()[0] for line in
                    (tmp_path / "embedder" / "SHA256SUMS").read_text().splitlines()
                    if line.endswith("model.safetensors"))
    r = run("embed", "x", model_dir=tmp_path)
    assert r.returncode == 2
    assert b"model.safetensors" in r.stderr and expected.encode() in r.stderr


def test_rerank_scores_each_document_between_0_and_1(tmp_path):
    (tmp_path / "reranker").symlink_to(TINY_CE, target_is_directory=True)
    r = run("rerank", "--query", "whales", "--doc", "a whaling voyage", "--doc", "", model_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["doc"] for x in lines] == ["a whaling voyage", ""]
    for x in lines:
        assert 0.0 <= x["score"] <= 1.0
        assert math.isclose(x["score"], 1 / (1 + math.exp(-x["logit"])), rel_tol=1e-5)


def test_rerank_without_a_reranker_is_a_clear_error(tmp_path):
    r = run("rerank", "--query", "q", "--doc", "d", model_dir=tmp_path)
    assert r.returncode == 2
    assert b"reranker" in r.stderr

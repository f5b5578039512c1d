"""The example plugin of the guide (``docs/examples/embedplug-hello``) behaves as documented."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from types import ModuleType

# the test environment installs it: pip install -e docs/examples/embedplug-hello
import embedplug_hello as hello
import numpy as np
import pytest

import embedplug
from embedplug.errors import ConfigurationError


def _by_hand(text: str, dimensions: int, seed: int = 0) -> np.ndarray:
    """The documented algorithm, written out again: signed word buckets, unit length."""
    vector = np.zeros(dimensions)
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(
            word.encode(), digest_size=8, salt=seed.to_bytes(16, "little")
        ).digest()
        value = int.from_bytes(digest, "little")
        vector[value % dimensions] += 1 if value >> 63 else -1
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


def test_package_surface() -> None:
    assert hello.__all__ == ["HelloProvider", "register_commands", "register_providers"]
    assert hello.HelloProvider.name == "hello"
    assert [m.name for m in hello.HelloProvider.known_models()] == ["toy-64", "toy-256"]
    assert hello.HelloProvider.default_model == "toy-64"
    assert "toy" in hello.HelloProvider.description.lower()


@pytest.mark.parametrize(("model", "width"), [("toy-64", 64), ("toy-256", 256)])
def test_vectors_follow_the_documented_algorithm(
    fresh_plugins: ModuleType, model: str, width: int
) -> None:
    texts = ["The cat sat.", "the CAT sat down", "Stock prices fell 3%", "!!!"]
    result = embedplug.embed(texts, f"hello:{model}")
    assert result.embeddings.shape == (4, width)
    assert result.embeddings.dtype == np.float32
    for row, text in zip(result.embeddings, texts, strict=True):
        np.testing.assert_allclose(row, _by_hand(text, width), atol=1e-6)
    assert result.usage.input_tokens == 3 + 4 + 4 + 0
    assert result.usage.requests == 0
    norms = np.linalg.norm(result.embeddings, axis=1)
    np.testing.assert_allclose(norms[:3], 1.0, rtol=1e-6)
    assert norms[3] == 0.0  # no word characters: a zero vector, as documented


def test_seed_picks_another_hash(fresh_plugins: ModuleType) -> None:
    text = "one two three four five six"
    a = embedplug.embed(text, "hello", seed=0).embeddings[0]
    b = embedplug.embed(text, "hello", seed=12345).embeddings[0]
    np.testing.assert_allclose(b, _by_hand(text, 64, seed=12345), atol=1e-6)
    assert not np.allclose(a, b)


@pytest.mark.parametrize("seed", [-1, 2**128, "1", True, 1.5])
def test_bad_seed_is_refused(fresh_plugins: ModuleType, seed: object) -> None:
    with pytest.raises(ConfigurationError, match="seed must be an int"):
        embedplug.embedder("hello", seed=seed)


def test_vectors_are_the_same_in_another_process(fresh_plugins: ModuleType) -> None:
    code = (
        "import embedplug; "
        "print(embedplug.embed(['portable words'], 'hello').embeddings[0].tobytes().hex())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    here = embedplug.embed(["portable words"], "hello").embeddings[0]
    assert bytes.fromhex(out) == here.tobytes()


def test_engine_quantises_the_toy_floats(fresh_plugins: ModuleType) -> None:
    result = embedplug.embed(["a b c d e f g"], "hello", embedding_types=["ubinary", "int8"])
    floats = embedplug.embed(["a b c d e f g"], "hello").embeddings
    np.testing.assert_array_equal(result["ubinary"], np.packbits(floats > 0, axis=1))
    assert result["int8"].dtype == np.int8


def test_images_are_refused_before_the_provider_is_called(
    fresh_plugins: ModuleType, png_bytes: bytes
) -> None:
    with pytest.raises(embedplug.InvalidInputError, match="does not embed image inputs"):
        embedplug.embed(["text", embedplug.Image.from_bytes(png_bytes)], "hello")


async def test_aembed_runs_in_a_worker_thread_with_the_same_result(
    fresh_plugins: ModuleType,
) -> None:
    async with embedplug.embedder("hello:toy-256") as toy:
        result = await toy.aembed(["async words", "more words"])
    sync = embedplug.embed(["async words", "more words"], "hello:toy-256")
    np.testing.assert_array_equal(result.embeddings, sync.embeddings)

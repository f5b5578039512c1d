"""``embedplug.adapters``: the shared steps of framework adapters, and ``Embedder.validate``."""

from __future__ import annotations

import asyncio
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

import embedplug
from embedplug import adapters
from embedplug.errors import InvalidInputError
from embedplug.provider import ModelInfo
from embedplug.types import EmbeddingResult, EmbeddingType, InputType

ROOT = Path(__file__).resolve().parents[2]
ADAPTER_SOURCES = [
    ROOT / "packages/langchain-embedplug/src/langchain_embedplug",
    ROOT / "packages/llama-index-embeddings-embedplug/src/llama_index/embeddings/embedplug",
]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
    b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_all_names_exist() -> None:
    assert sorted(adapters.__all__) == sorted(set(adapters.__all__))
    for name in adapters.__all__:
        assert getattr(adapters, name) is not None, name


def test_split_options_sorts_secrets_plain_and_runtime() -> None:
    transport = object()
    split = adapters.split_options(
        {
            "truncate": "END",
            "headers": {"X-Key": "s3cret"},
            "session_token": "hunter2",
            "API_KEY": SecretStr("k"),
            "transport": transport,
            "max_concurrency": 4,
        }
    )
    assert split.public == {"truncate": "END", "max_concurrency": 4}
    assert set(split.secret) == {"headers", "session_token", "API_KEY"}
    assert isinstance(split.secret["session_token"], SecretStr)  # a str secret is wrapped
    assert "hunter2" not in repr(split)
    assert split.runtime == {"transport": transport}
    merged = split.merged()
    assert merged["session_token"] == "hunter2"
    assert merged["API_KEY"] == "k"
    assert merged["headers"] == {"X-Key": "s3cret"}
    assert merged["transport"] is transport


def test_split_options_refuses_reserved_names_with_the_adapters_message() -> None:
    with pytest.raises(ValueError, match=r"^set it as a field$"):
        adapters.split_options({"input_type": "x"}, reserved={"input_type": "set it as a field"})


def test_option_name_sets_match_embedder() -> None:
    assert {"input_type", "dimensions", "embedding_types"} <= adapters.CALL_DEFAULTS
    assert {"max_concurrency", "retry", "timeout"} <= adapters.ENGINE_OPTIONS
    assert not adapters.CALL_DEFAULTS & adapters.ENGINE_OPTIONS


def test_reveal() -> None:
    assert adapters.reveal(SecretStr("k")) == "k"
    assert adapters.reveal({"a": 1}) == {"a": 1}


def test_resolve_input_type_drops_defaults_and_refuses_explicit_choices() -> None:
    typed = ModelInfo(name="typed", dimensions=8, input_types=frozenset({InputType.SEARCH_QUERY}))
    plain = ModelInfo(name="plain", dimensions=8, input_types=frozenset())
    resolve = adapters.resolve_input_type
    assert resolve("search_query", typed, option="q", explicit=True) is InputType.SEARCH_QUERY
    assert resolve(InputType.SEARCH_QUERY, plain, option="q", explicit=False) is None
    assert resolve(None, typed, option="q", explicit=True) is None
    with pytest.raises(ValueError, match="does not take q='search_query'; it takes: none"):
        resolve("search_query", plain, option="q", explicit=True)
    with pytest.raises(ValueError, match="q='nope' is not an input type"):
        resolve("nope", typed, option="q", explicit=False)


def test_image_input_type() -> None:
    with_image = ModelInfo(name="m", dimensions=8, input_types=frozenset({InputType.IMAGE}))
    assert adapters.image_input_type(with_image) is InputType.IMAGE
    assert adapters.image_input_type(ModelInfo(name="m", dimensions=8)) is None


def test_coerce_images_takes_one_or_many_and_names_the_position() -> None:
    assert len(adapters.coerce_images(PNG)) == 1  # one image, not a sequence of bytes
    images = adapters.coerce_images([PNG, BytesIO(PNG)])
    assert [image.data for image in images] == [PNG, PNG]
    with pytest.raises(InvalidInputError, match=r"input 1: .*not a png"):
        adapters.coerce_images([PNG, b"not an image"])


def test_to_rows_gives_python_floats_for_every_type() -> None:
    floats = EmbeddingResult(
        {EmbeddingType.FLOAT: np.array([[0.5, -1.0]], dtype=np.float32)}, "m", "p"
    )
    ints = EmbeddingResult({EmbeddingType.INT8: np.array([[-128, 127]], dtype=np.int8)}, "m", "p")
    assert adapters.to_rows(floats) == [[0.5, -1.0]]
    rows = adapters.to_rows(ints)
    assert rows == [[-128.0, 127.0]]
    assert all(type(v) is float for v in rows[0])


def test_embedder_validate_runs_the_engine_checks_without_sending() -> None:
    embedder = embedplug.embedder("openai:text-embedding-3-small", api_key="sk-test")
    embedder.validate(dimensions=256, embedding_types="float")
    with pytest.raises(InvalidInputError, match="cannot give 2000 dimensions"):
        embedder.validate(dimensions=2000)
    with pytest.raises(InvalidInputError, match="does not take input_type 'image'"):
        embedder.validate(input_type=InputType.IMAGE)
    with pytest.raises(InvalidInputError, match="12 dimensions is not a multiple of 8"):
        embedder.validate(embedding_types=[EmbeddingType.BINARY], dimensions=12)
    with pytest.raises(InvalidInputError, match="cannot give 2000 dimensions"):
        embedplug.embedder("openai:text-embedding-3-small", api_key="sk-test", dimensions=2000)
    embedder.close()


def test_closes_embedder_mixin_closes_sync_and_async() -> None:
    calls: list[str] = []

    class Fake:
        def close(self) -> None:
            calls.append("close")

        async def aclose(self) -> None:
            calls.append("aclose")

    class Adapter(adapters.ClosesEmbedder):
        embedder = Fake()  # type: ignore[assignment]

    with Adapter():
        pass

    async def main() -> None:
        async with Adapter():
            pass

    asyncio.run(main())
    assert calls == ["close", "aclose"]


@pytest.mark.parametrize("folder", ADAPTER_SOURCES, ids=lambda p: p.parts[-1])
def test_each_adapter_main_module_is_thin(folder: Path) -> None:
    # the import rules (public core modules only, no .engine) are test_import_rules.py's
    main = max(folder.glob("_*.py"), key=lambda p: p.stat().st_size)
    assert len(main.read_text().splitlines()) <= 250, main

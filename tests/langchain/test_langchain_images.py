"""Images through ``EmbedplugEmbeddings``: a multimodal Cohere-protocol stub; text-only refusals."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import embedplug
from embedplug.testing import StubServer
from langchain_embedplug import EmbedplugEmbeddings

if TYPE_CHECKING:
    from conftest import LangChainStubs


def image_requests(server: StubServer, since: int) -> list[dict[str, Any]]:
    bodies = [r.json for r in server.requests[since:]]
    return [b for b in bodies if isinstance(b, dict) and "images" in b]


def test_embed_image_on_two_png_files(lc: LangChainStubs, png_files: list[Path]) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params())
    since = len(lc.cohere.requests)

    vectors = emb.embed_image(uris=[str(p) for p in png_files])  # as Chroma calls it

    assert len(vectors) == 2
    assert [len(v) for v in vectors] == [emb.model_info.dimensions] * 2 == [1536, 1536]
    assert vectors[0] != vectors[1]
    pngs = [p.read_bytes() for p in png_files]
    assert vectors == [lc.cohere.expected_vector(data).tolist() for data in pngs]

    sent = image_requests(lc.cohere, since)
    assert len(sent) == 1
    assert sent[0]["input_type"] == "image"
    assert "texts" not in sent[0]
    assert sent[0]["images"] == [
        "data:image/png;base64," + base64.b64encode(data).decode() for data in pngs
    ]


async def test_image_forms_and_async_agree(lc: LangChainStubs, png_files: list[Path]) -> None:
    async with EmbedplugEmbeddings(**lc.cohere_params(dimensions=256)) as emb:
        red = png_files[0]
        data = red.read_bytes()
        data_url = "data:image/png;base64," + base64.b64encode(data).decode()
        by_path = emb.embed_images([red, str(red)])
        assert by_path[0] == by_path[1]
        assert emb.embed_images([data, data_url]) == by_path
        assert emb.embed_images(red) == by_path[:1]  # one image, not a sequence
        assert await emb.aembed_images([red, data_url]) == by_path
        assert len(by_path[0]) == 256
        assert by_path[0] == lc.cohere.expected_vector(data, 256).tolist()


def test_text_only_model_refuses_images_before_sending(lc: LangChainStubs) -> None:
    emb = EmbedplugEmbeddings(**lc.openai_params())
    before = lc.openai.request_count
    with pytest.raises(embedplug.InvalidInputError) as info:
        emb.embed_image(["does-not-exist.png"])  # the model is checked before the file
    message = str(info.value)
    assert "'openai:text-embedding-3-small' does not embed images (it takes: text)" in message
    assert lc.cohere_model in message  # installed models that do are named
    assert lc.openai.request_count == before


def test_local_model_refuses_images(png_files: list[Path]) -> None:
    emb = EmbedplugEmbeddings(model="local")
    with pytest.raises(ValueError, match="does not embed images"):
        emb.embed_images(png_files)


async def test_text_only_model_refuses_images_async(lc: LangChainStubs) -> None:
    params = lc.cohere_params(model=f"{lc.cohere_provider}:embed-english-light-v3.0")
    emb = EmbedplugEmbeddings(**params)
    with pytest.raises(embedplug.InvalidInputError, match="does not embed images"):
        await emb.aembed_images([b"\x89PNG\r\n\x1a\n"])


def test_bad_images_name_their_position(lc: LangChainStubs, tmp_path: Path) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params())
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    before = lc.cohere.request_count
    with pytest.raises(embedplug.InvalidInputError, match=r"input 0: not a png, jpeg, webp or gif"):
        emb.embed_images([not_image])
    with pytest.raises(embedplug.InvalidInputError, match=r"input 1: cannot read image"):
        emb.embed_images([b"\x89PNG\r\n\x1a\n....", tmp_path / "missing.png"])
    with pytest.raises(embedplug.InvalidInputError, match="URLs are not fetched"):
        emb.embed_images(["https://example.com/cat.png"])
    assert lc.cohere.request_count == before

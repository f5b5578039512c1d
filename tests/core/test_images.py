"""``Image``: magic bytes, data URLs, paths, URLs refused, size limits before any call."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from embedplug.errors import InvalidInputError
from embedplug.provider import Modality, ModelInfo
from embedplug.types import Image, sniff_image_format

MakeEmbedder = Callable[..., tuple[Any, Any]]
ImageBytes = Callable[..., bytes]

FORMATS = [
    ("png", "image/png"),
    ("jpeg", "image/jpeg"),
    ("webp", "image/webp"),
    ("gif", "image/gif"),
]


@pytest.mark.parametrize(("fmt", "mime"), FORMATS)
def test_real_images_are_recognised_by_magic_bytes(
    image_bytes: ImageBytes, fmt: str, mime: str
) -> None:
    data = image_bytes(fmt)
    assert sniff_image_format(data) == fmt
    image = Image.from_bytes(data)
    assert image.format == fmt
    assert image.mime_type == mime
    assert image.size == len(data)
    assert image.dimensions() == (8, 8)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, world",
        b"\x89PNG",  # a truncated PNG signature
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"%PDF-1.7\n",
        b"GIF90a",
    ],
)
def test_other_bytes_are_refused(data: bytes) -> None:
    assert sniff_image_format(data) is None
    with pytest.raises(InvalidInputError, match="not a png, jpeg, webp or gif image"):
        Image.from_bytes(data)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_real_images_in_other_formats_are_refused(fmt: str) -> None:
    import io

    buffer = io.BytesIO()
    PILImage.new("RGB", (4, 4)).save(buffer, format=fmt)
    with pytest.raises(InvalidInputError, match="magic bytes"):
        Image.from_bytes(buffer.getvalue())


def test_extension_does_not_matter_only_content(tmp_path: Path, image_bytes: ImageBytes) -> None:
    path = tmp_path / "really-a-jpeg.png"
    path.write_bytes(image_bytes("jpeg"))
    image = Image.from_path(path)
    assert image.format == "jpeg"
    assert image.source == str(path)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "gif"])
def test_data_url_round_trip(image_bytes: ImageBytes, fmt: str) -> None:
    image = Image.from_bytes(image_bytes(fmt))
    url = image.to_data_url()
    assert url.startswith(f"data:{image.mime_type};base64,")
    back = Image.from_data_url(url)
    assert back == image
    assert back.data == image.data
    assert Image.coerce(url) == image


def test_data_url_with_extra_parameters(png_bytes: bytes) -> None:
    url = "data:image/png;name=x.png;base64," + base64.b64encode(png_bytes).decode()
    assert Image.from_data_url(url).data == png_bytes


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("data:image/png,rawbytes", "not a base64 data URL"),
        ("https://example.com/cat.png", "not a base64 data URL"),
        ("data:image/png;base64,@@@not-base64@@@", "invalid base64"),
        ("data:image/png;base64," + base64.b64encode(b"just text").decode(), "not a png"),
    ],
)
def test_bad_data_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Image.from_data_url(url)


def test_from_path_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(InvalidInputError, match="cannot read image") as info:
        Image.from_path(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(InvalidInputError, match="cannot read image"):
        Image.from_path(tmp_path)  # a directory
    not_image = tmp_path / "notes.png"
    not_image.write_text("these are notes")
    with pytest.raises(InvalidInputError, match=r"notes\.png"):
        Image.from_path(not_image)


def test_coerce_accepts_images_bytes_paths(tmp_path: Path, png_bytes: bytes) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes)
    image = Image.from_bytes(png_bytes)
    assert Image.coerce(image) is image
    assert Image.coerce(png_bytes) == image
    assert Image.coerce(bytearray(png_bytes)) == image  # type: ignore[arg-type]
    assert Image.coerce(str(path)) == image
    assert Image.coerce(path) == image
    with pytest.raises(InvalidInputError, match="cannot make an image from int"):
        Image.coerce(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "http://127.0.0.1:1/cat.png"])
def test_image_urls_are_refused_not_fetched(url: str) -> None:
    # sockets are disabled except loopback, and port 1 on loopback answers nothing:
    # the refusal must come before any attempt to connect
    with pytest.raises(InvalidInputError, match="image URLs are not fetched"):
        Image.coerce(url)


def test_from_pil_encodes_and_converts_for_jpeg() -> None:
    rgba = PILImage.new("RGBA", (5, 3), (1, 2, 3, 128))
    png = Image.from_pil(rgba)
    assert png.format == "png"
    jpeg = Image.from_pil(rgba, format="jpeg")  # JPEG has no alpha: converted
    assert jpeg.format == "jpeg"
    assert jpeg.dimensions() == (5, 3)


def test_repr_does_not_dump_the_bytes(png_bytes: bytes) -> None:
    text = repr(Image.from_bytes(png_bytes, source="photo.png"))
    assert text == f"Image(format='png', size={len(png_bytes)}, source='photo.png')"


def test_resized_scales_down_into_the_pixel_budget(image_bytes: ImageBytes) -> None:
    image = Image.from_bytes(image_bytes("png", (400, 200)))
    small = image.resized(max_pixels=20_000)
    width, height = small.dimensions()
    assert width * height <= 20_000
    assert width / height == pytest.approx(2.0, rel=0.02)
    assert small.format == "png"
    assert image.resized(max_pixels=10**6) is image  # already within bounds


# ---------------------------------------------------------------- limits, through the engine

LIMITED = ModelInfo(
    name="limited",
    dimensions=64,
    modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
    max_image_bytes=4_000,
)


def test_oversized_image_is_refused_before_any_call(
    make_embedder: MakeEmbedder, image_bytes: ImageBytes
) -> None:
    embedder, server = make_embedder(LIMITED, protocol="cohere")
    big = Image.from_bytes(image_bytes("png", (64, 64), noise=True))
    small = Image.from_bytes(image_bytes("png", (8, 8)))
    assert big.size > 4_000 > small.size
    with pytest.raises(InvalidInputError, match="takes at most 4,000 bytes per image") as info:
        embedder.embed([small, "text", big])
    assert info.value.position == 2
    with pytest.raises(InvalidInputError, match=r"^input 1: image of"):
        embedder.embed(["caption", ["caption", big]])  # inside a mixed input too
    assert server.requests == []
    # under the limit it is sent, as a data URL
    result = embedder.embed([small])
    assert len(server.requests) == 1
    assert server.bodies[0]["images"] == [small.to_data_url()]
    assert server.bodies[0]["input_type"] == "image"
    assert result.embeddings.shape == (1, 64)


def test_image_over_the_payload_limit_is_refused_before_any_call(
    make_embedder: MakeEmbedder, image_bytes: ImageBytes
) -> None:
    model = ModelInfo(
        name="payload",
        dimensions=64,
        modalities=frozenset({Modality.IMAGE}),
        max_payload_bytes=2_000,
    )
    embedder, server = make_embedder(model, protocol="cohere")
    with pytest.raises(InvalidInputError, match="bytes per request"):
        embedder.embed([Image.from_bytes(image_bytes("png", (64, 64), noise=True))])
    assert server.requests == []

"""Validation of inputs against a model's limits, and planning of batches.

Everything here runs before any request: a bad input raises
``InvalidInputError`` naming its position, and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from embedplug._long_inputs import LongInputPlan, apply_policy, utf8_length
from embedplug.errors import InvalidInputError
from embedplug.provider import Batch, Modality, ModelInfo
from embedplug.types import EmbeddingType, Image, Input, InputType, LongInputs, Mixed, input_kind

if TYPE_CHECKING:
    from embedplug.provider import Tokenizer

_KIND_NAMES = {"text": "texts", "image": "images", "mixed": "mixed inputs"}

# JSON overhead per item (quotes, commas, content-block keys) in payload estimates.
_ITEM_OVERHEAD = 64


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate of a text's tokens: one per 2 bytes of UTF-8.

    English runs about 4 characters a token, so this doubles it; CJK text runs
    about one token or more per character (3 UTF-8 bytes), where a count of
    characters would be far too low.
    """
    return len(text.encode("utf-8")) // 2 + 1


def _item_cost(item: Input) -> tuple[int, int, int, int]:
    """(payload bytes, estimated tokens, images, characters) of one input."""
    parts: Sequence[str | Image] = item.parts if isinstance(item, Mixed) else (item,)
    payload = _ITEM_OVERHEAD
    tokens = images = chars = 0
    for part in parts:
        if isinstance(part, str):
            payload += len(part.encode("utf-8")) + 16
            tokens += estimate_tokens(part)
            chars += len(part)
        else:
            payload += (part.size + 2) // 3 * 4 + 64
            images += 1
    return payload, tokens, images, chars


@dataclass
class Plan:
    """What the engine will send, and what it does client-side afterwards."""

    batches: list[Batch]
    total: int
    requested_types: list[EmbeddingType]
    native_types: list[EmbeddingType]
    truncate_to: int | None
    expected_dimensions: int | None
    options: dict[str, Any] = field(default_factory=dict)
    long_inputs: LongInputPlan | None = None
    """Set when the long-input policy cut or split inputs: ``batches`` then hold the
    inputs as sent, and ``long_inputs.finish`` turns the result back into the caller's."""


def _modality(item: Input) -> Modality:
    return Modality(input_kind(item))


def validate(
    inputs: Sequence[Input],
    model: ModelInfo,
    *,
    input_type: InputType | None,
    dimensions: int | None,
) -> None:
    """Raise ``InvalidInputError`` for the first input or option the model cannot take."""
    if input_type is not None and input_type not in model.input_types:
        allowed = ", ".join(sorted(t.value for t in model.input_types))
        raise InvalidInputError(
            f"model {model.name!r} does not take input_type {input_type.value!r}; "
            f"allowed: {allowed}"
        )
    if dimensions is not None and not model.allows_dimensions(dimensions):
        raise InvalidInputError(
            f"model {model.name!r} cannot give {dimensions} dimensions; "
            f"allowed: {model.dimension_choices()}"
        )
    text_ok = model.supports(Modality.TEXT)
    max_chars = model.max_chars_per_item
    max_payload = model.max_payload_bytes
    for position, item in enumerate(inputs):
        if type(item) is str and text_ok:  # the common case, kept cheap
            if not item or item.isspace():
                raise InvalidInputError("empty or whitespace-only text", position=position)
            if not item.isascii():
                utf8_length(item, position)  # a lone surrogate cannot be sent
            if max_chars is not None and len(item) > max_chars:
                raise InvalidInputError(
                    f"text of {len(item)} characters; model {model.name!r} takes at most "
                    f"{max_chars}",
                    position=position,
                )
            if max_payload is not None and _item_cost(item)[0] > max_payload:
                raise InvalidInputError(
                    f"input of about {_item_cost(item)[0]:,} bytes encoded; model "
                    f"{model.name!r} takes at most {max_payload:,} bytes per request",
                    position=position,
                )
            continue
        _validate_item(position, item, model)


def _validate_item(position: int, item: Input, model: ModelInfo) -> None:
    modality = _modality(item)
    if not model.supports(modality):
        kinds = ", ".join(sorted(m.value for m in model.modalities))
        raise InvalidInputError(
            f"model {model.name!r} does not embed {modality.value} inputs (it takes: {kinds})",
            position=position,
        )
    parts: Sequence[str | Image] = item.parts if isinstance(item, Mixed) else (item,)
    for part in parts:
        if isinstance(part, str):
            if not part.strip():
                raise InvalidInputError("empty or whitespace-only text", position=position)
            utf8_length(part, position)
            if model.max_chars_per_item is not None and len(part) > model.max_chars_per_item:
                raise InvalidInputError(
                    f"text of {len(part)} characters; model {model.name!r} takes at most "
                    f"{model.max_chars_per_item}",
                    position=position,
                )
        elif model.max_image_bytes is not None and part.size > model.max_image_bytes:
            raise InvalidInputError(
                f"image of {part.size:,} bytes; model {model.name!r} takes at most "
                f"{model.max_image_bytes:,} bytes per image",
                position=position,
            )
    payload = _item_cost(item)[0]
    if model.max_payload_bytes is not None and payload > model.max_payload_bytes:
        raise InvalidInputError(
            f"input of about {payload:,} bytes encoded; model {model.name!r} takes at most "
            f"{model.max_payload_bytes:,} bytes per request",
            position=position,
        )


def plan_batches(
    inputs: Sequence[Input],
    model: ModelInfo,
    *,
    input_type: InputType | None,
    dimensions: int | None,
    embedding_types: Sequence[EmbeddingType],
    options: dict[str, Any],
    max_items: int | None = None,
    long_inputs: LongInputs = "error",
    tokenizer: Tokenizer | None = None,
    server_truncates: bool = False,
) -> Plan:
    """Validate, then split ``inputs`` into batches that respect every limit of ``model``.

    Texts over ``model.max_tokens_per_item`` are refused, cut or split first,
    as ``long_inputs`` says (see ``embedplug._long_inputs``). Batches hold one
    kind of input each (text, image or mixed), so that a provider can map a
    batch to one request shape; order is restored from ``positions`` afterwards.
    """
    requested = list(embedding_types)
    inputs, long_plan = apply_policy(
        inputs,
        model,
        long_inputs,
        tokenizer=tokenizer,
        server_truncates=server_truncates,
        requested_types=requested,
    )
    try:
        validate(inputs, model, input_type=input_type, dimensions=dimensions)
    except InvalidInputError as exc:
        if long_plan is None or exc.position is None or long_plan.origin is None:
            raise
        message = str(exc).removeprefix(f"input {exc.position}: ")
        raise InvalidInputError(message, position=long_plan.caller_position(exc.position)) from None
    chunked = long_plan is not None and long_plan.origin is not None
    if chunked and EmbeddingType.FLOAT not in requested:  # chunks are combined as floats
        requested.append(EmbeddingType.FLOAT)
    width = dimensions or model.dimensions
    packed = [t.value for t in requested if t.packed]
    if packed and width and width % 8:
        raise InvalidInputError(
            f"{' and '.join(packed)} embeddings pack 8 dimensions a byte; "
            f"{width} dimensions is not a multiple of 8"
        )
    native = [t for t in requested if t in model.embedding_types]
    if len(native) < len(requested) and EmbeddingType.FLOAT not in native:
        native.append(EmbeddingType.FLOAT)  # the rest are quantised client-side from floats
    native_dims = dimensions if (dimensions is not None and model.native_dimensions) else None
    truncate_to = dimensions if (dimensions is not None and not model.native_dimensions) else None
    if truncate_to is not None and truncate_to == model.dimensions:
        truncate_to = None
    if truncate_to is not None:
        native = [EmbeddingType.FLOAT]  # truncate the floats, then quantise every other type
    expected = native_dims or (model.dimensions or None)

    limit_items = model.max_items_per_call
    if max_items is not None:
        limit_items = max(1, min(limit_items, max_items))

    groups: dict[str, list[int]] = {}
    for position, item in enumerate(inputs):
        groups.setdefault(input_kind(item), []).append(position)
    if input_type is not None and model.input_types_by_modality:
        _check_input_type_per_kind(model, input_type, groups, long_plan)
    only_counts = (
        model.max_payload_bytes is None
        and model.max_tokens_per_call is None
        and model.max_images_per_call is None
    )

    batches: list[Batch] = []
    for positions in groups.values():
        if only_counts:  # nothing but items per call to respect: plain chunks
            for start in range(0, len(positions), limit_items):
                chunk = positions[start : start + limit_items]
                batches.append(_make_batch(len(batches), chunk, inputs, model))
            continue
        current: list[int] = []
        payload = tokens = images = 0
        for position in positions:
            item_payload, item_tokens, item_images, _ = _item_cost(inputs[position])
            full = current and (
                len(current) >= limit_items
                or (
                    model.max_payload_bytes is not None
                    and payload + item_payload > model.max_payload_bytes
                )
                or (
                    model.max_tokens_per_call is not None
                    and tokens + item_tokens > model.max_tokens_per_call
                )
                or (
                    model.max_images_per_call is not None
                    and images + item_images > model.max_images_per_call
                )
            )
            if full:
                batches.append(_make_batch(len(batches), current, inputs, model))
                current, payload, tokens, images = [], 0, 0, 0
            current.append(position)
            payload += item_payload
            tokens += item_tokens
            images += item_images
        if current:
            batches.append(_make_batch(len(batches), current, inputs, model))

    for batch in batches:
        batch.input_type = input_type
        batch.dimensions = native_dims
        batch.embedding_types = list(native)
        batch.options = dict(options)
    return Plan(
        batches=batches,
        total=len(inputs),
        requested_types=requested,
        native_types=native,
        truncate_to=truncate_to,
        expected_dimensions=expected,
        options=dict(options),
        long_inputs=long_plan,
    )


def _check_input_type_per_kind(
    model: ModelInfo,
    input_type: InputType,
    groups: dict[str, list[int]],
    long_plan: LongInputPlan | None,
) -> None:
    """Refuse the first input of a kind that ``input_type`` does not apply to (e.g. a
    text with ``image``); one look per kind, none per input."""
    for kind, positions in groups.items():
        allowed = model.input_types_by_modality.get(Modality(kind))
        if allowed is None or input_type in allowed:
            continue
        position = positions[0]
        if long_plan is not None:
            position = long_plan.caller_position(position)
        what = _KIND_NAMES.get(kind, kind)
        names = ", ".join(sorted(t.value for t in allowed)) or "none"
        raise InvalidInputError(
            f"input_type {input_type.value!r} does not apply to {what} on model "
            f"{model.name!r}; {what} take: {names}",
            position=position,
        )


def _make_batch(
    number: int, positions: list[int], inputs: Sequence[Input], model: ModelInfo
) -> Batch:
    return Batch(
        number=number,
        positions=list(positions),
        inputs=[inputs[p] for p in positions],
        model=model,
    )

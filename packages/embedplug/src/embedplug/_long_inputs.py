"""The long-input policy: what happens to a text over ``ModelInfo.max_tokens_per_item``.

``error`` (the default) refuses it before any request, naming its position;
``truncate`` cuts it client-side so that it fits; ``chunk`` splits it, embeds
the pieces and averages their float vectors weighted by length, then
re-normalises (as langchain-openai's ``_get_len_safe_embeddings`` does), so
one input still gives one vector.

Tokens are counted exactly with the provider's ``Tokenizer`` when it has one.
Otherwise the count is bounded from the text's UTF-8 bytes, assuming what
holds for byte-level BPE (OpenAI), WordPiece and SentencePiece with byte
fallback: every token covers at least one byte, so a text of at most
``limit - MARGIN_TOKENS`` bytes surely fits; and no token covers more than
``MAX_BYTES_PER_TOKEN`` bytes, so a text is refused only when even
``bytes / MAX_BYTES_PER_TOKEN`` tokens exceed the limit. An input that fits is
never refused; between the two bounds it is sent, and the server decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast, get_args

from embedplug.errors import InvalidInputError
from embedplug.types import EmbeddingResult, EmbeddingType, Input, LongInputs, Mixed

if TYPE_CHECKING:
    import numpy.typing as npt

    from embedplug.provider import ModelInfo, Tokenizer

#: The most UTF-8 bytes one token is assumed to cover, for the refusal bound
#: without a tokenizer (a model may say otherwise in ``extra["max_bytes_per_token"]``).
MAX_BYTES_PER_TOKEN = 256

#: Tokens kept free for what the model or provider adds to a text (special tokens,
#: a SentencePiece word prefix, a short input-type prefix) when counting from bytes.
MARGIN_TOKENS = 16

_POLICIES: tuple[str, ...] = get_args(LongInputs)


def coerce_long_inputs(value: str | None) -> LongInputs | None:
    """A long-input policy from its name, or ``None``; anything else is refused."""
    if value is None:
        return None
    if value not in _POLICIES:
        raise InvalidInputError(f"long_inputs must be one of {', '.join(_POLICIES)}, not {value!r}")
    policy: LongInputs = value  # type: ignore[assignment]
    return policy


def utf8_length(text: str, position: int) -> int:
    """Bytes of ``text`` in UTF-8; a lone surrogate is an ``InvalidInputError`` at ``position``."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"text holds a lone surrogate ({text[exc.start]!r} at character {exc.start}), "
            "which cannot be encoded as UTF-8",
            position=position,
        ) from None


@dataclass
class LongInputPlan:
    """What the policy did to a call's inputs, to undo it on the result.

    ``origin[i]`` is the caller's position of sent input ``i`` (``None``: one to one).
    """

    policy: LongInputs
    total: int
    requested_types: list[EmbeddingType]
    origin: list[int] | None = None
    weights: list[float] | None = None
    truncated: list[int] = field(default_factory=list)
    client_cut: bool = False
    chunks: list[int] | None = None

    def caller_position(self, sent: int) -> int:
        """The caller's position of sent input ``sent``."""
        return self.origin[sent] if self.origin is not None else sent

    def caller_positions(self, sent: Sequence[int]) -> list[int]:
        """The caller's positions of sent inputs, sorted, without repeats."""
        return sorted({self.caller_position(p) for p in sent})

    def finish(self, result: EmbeddingResult) -> EmbeddingResult:
        """The result for the caller's inputs: chunks combined, what was done in ``meta``."""
        meta = dict(result.meta)
        if self.truncated:
            meta["truncated_inputs"] = list(self.truncated)
            meta["truncated_by"] = "client" if self.client_cut else "server"
        if self.origin is None:
            result.meta = meta
            return result
        return EmbeddingResult(
            vectors=self._combine(result.vectors),
            model=result.model,
            provider=result.provider,
            usage=result.usage,
            meta={**self._per_item(meta), "chunks": list(self.chunks or [])},
        )

    def _first_rows(self) -> list[int]:
        assert self.origin is not None
        first: list[int] = [-1] * self.total
        for row, position in enumerate(self.origin):
            if first[position] < 0:
                first[position] = row
        return first

    def _per_item(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Per-input columns (lists as long as the sent inputs) cut to one value per input."""
        first = self._first_rows()
        sent = len(self.origin or ())
        return {
            key: [value[row] for row in first]
            if isinstance(value, list) and len(value) == sent and key != "batches"
            else value
            for key, value in meta.items()
        }

    def _combine(
        self, vectors: dict[EmbeddingType, npt.NDArray[Any]]
    ) -> dict[EmbeddingType, npt.NDArray[Any]]:
        import numpy as np

        from embedplug._quantize import normalize_rows, quantize

        assert self.origin is not None
        assert self.weights is not None
        assert self.chunks is not None
        first = np.asarray(self._first_rows(), dtype=np.intp)
        multi = np.flatnonzero(np.asarray(self.chunks) > 1)
        floats = vectors[EmbeddingType.FLOAT]
        sums = np.zeros((self.total, floats.shape[1]), dtype=np.float64)
        weights = np.asarray(self.weights, dtype=np.float64)[:, None]
        np.add.at(sums, np.asarray(self.origin, dtype=np.intp), floats * weights)
        combined = normalize_rows(sums[multi])
        out: dict[EmbeddingType, npt.NDArray[Any]] = {}
        for kind in self.requested_types:
            rows = vectors[kind][first]  # inputs sent whole keep the provider's own vectors
            if len(multi):
                rows[multi] = quantize(combined, kind)
            out[kind] = rows
        return out


def apply_policy(
    inputs: Sequence[Input],
    model: ModelInfo,
    policy: LongInputs,
    *,
    tokenizer: Tokenizer | None,
    server_truncates: bool,
    requested_types: Sequence[EmbeddingType],
) -> tuple[list[Input], LongInputPlan | None]:
    """``(inputs to send, plan)`` under ``policy``; the plan is ``None`` when nothing changed.

    Raises ``InvalidInputError`` (with the caller's position) for an input the
    policy refuses, and for a text with a lone surrogate.
    """
    limit = model.max_tokens_per_item
    if limit is None:
        return list(inputs), None
    counter = _Counter(limit, tokenizer, int(model.extra.get("max_bytes_per_token", 0)))
    if policy != "error":  # a character limit too is met by cutting or splitting
        counter.max_chars = model.max_chars_per_item
    # Most texts are far below any limit: only the others, and mixed inputs, need a look.
    quick = counter.budget // 4  # characters that surely fit: 4 UTF-8 bytes a character at most
    if counter.max_chars is not None:
        quick = min(quick, counter.max_chars)
    try:
        # all texts (an image or mixed input has no len: TypeError), all short: the usual case
        if max(map(len, cast("Sequence[str]", inputs)), default=0) <= quick:
            return list(inputs), None
    except TypeError:
        pass
    suspects = [
        p
        for p, item in enumerate(inputs)
        if (isinstance(item, str) and len(item) > quick) or isinstance(item, Mixed)
    ]
    if not suspects:
        return list(inputs), None
    plan = LongInputPlan(policy=policy, total=len(inputs), requested_types=list(requested_types))
    out = list(inputs)
    split: dict[int, list[tuple[Input, float]]] = {}
    for position in suspects:
        item = inputs[position]
        if isinstance(item, Mixed):
            _check_mixed(item, position, counter, policy, server_truncates)
            continue
        assert isinstance(item, str)
        pieces = _apply_to_text(item, position, counter, policy, server_truncates, plan)
        if policy == "chunk" and pieces != [(item, 1.0)]:
            split[position] = pieces
        else:
            out[position] = pieces[0][0]
    if split:
        _expand(plan, out, split)
    elif not plan.truncated:
        return out, None
    return out, plan


def _expand(
    plan: LongInputPlan, out: list[Input], split: dict[int, list[tuple[Input, float]]]
) -> None:
    """Replace each split input of ``out`` by its pieces, and record where each came from."""
    expanded: list[Input] = []
    origin: list[int] = []
    weights: list[float] = []
    chunks: list[int] = []
    for position, item in enumerate(out):
        pieces = split.get(position) or [(item, 1.0)]
        expanded.extend(p for p, _ in pieces)
        origin.extend([position] * len(pieces))
        weights.extend(w for _, w in pieces)
        chunks.append(len(pieces))
    out[:] = expanded
    plan.origin, plan.weights, plan.chunks = origin, weights, chunks


def _apply_to_text(
    text: str,
    position: int,
    counter: _Counter,
    policy: LongInputs,
    server_truncates: bool,
    plan: LongInputPlan,
) -> list[tuple[Input, float]]:
    verdict = counter.verdict(text, position)
    cut = text
    if verdict is not None:
        surely_over, spans = verdict
        if policy == "chunk":
            return counter.pieces(text, spans) or [(text, 1.0)]  # whitespace: refused later
        if server_truncates:  # the server cuts it: send as is, report what surely is cut
            if surely_over and policy == "truncate":
                plan.truncated.append(position)
        elif policy == "error":
            if surely_over:
                raise InvalidInputError(counter.refusal(text, spans), position=position)
        else:
            cut = counter.truncate(text, spans)
    if policy == "truncate" and counter.max_chars is not None and len(cut) > counter.max_chars:
        cut = cut[: counter.max_chars]  # a character limit is cut too, not refused
    if cut != text:
        plan.client_cut = True
        if not plan.truncated or plan.truncated[-1] != position:
            plan.truncated.append(position)
    return [(cut, 1.0)]


def _check_mixed(
    item: Mixed, position: int, counter: _Counter, policy: LongInputs, server_truncates: bool
) -> None:
    """A mixed input cannot be cut: refuse it (under any policy) only when surely too long."""
    if server_truncates:
        return
    text = "".join(item.texts)
    verdict = counter.verdict(text, position) if text else None
    if verdict is None or not verdict[0]:
        return
    how = "" if policy == "error" else f"; long_inputs={policy!r} does not cut mixed inputs"
    raise InvalidInputError(counter.refusal(text, verdict[1]) + how, position=position)


class _Counter:
    """Counts a text's tokens against ``limit``: exactly, or bounded from its bytes."""

    def __init__(self, limit: int, tokenizer: Tokenizer | None, max_bytes_per_token: int) -> None:
        self.limit = limit
        self.tokenizer = tokenizer
        self.special = tokenizer.special_tokens if tokenizer is not None else MARGIN_TOKENS
        self.per_token = max_bytes_per_token or MAX_BYTES_PER_TOKEN
        self.budget = max(1, limit - self.special)  # tokens (or bytes) for the text itself
        self.max_chars: int | None = None

    def verdict(self, text: str, position: int) -> tuple[bool, list[tuple[int, int]]] | None:
        """``None`` when ``text`` surely fits, else ``(surely over the limit, token spans)``.

        Without a tokenizer the spans are empty and "not surely over" means "may not fit".
        """
        if len(text) * 4 <= self.budget:  # 4 bytes a character at most: no need to encode
            return None
        size = utf8_length(text, position)
        if size <= self.budget:  # every token covers at least one byte
            return None
        if self.tokenizer is None:
            return -(-size // self.per_token) > self.limit, []
        spans = self.tokenizer.token_spans(text)
        if len(spans) <= self.budget:
            return None
        return True, spans

    def refusal(self, text: str, spans: list[tuple[int, int]]) -> str:
        if self.tokenizer is not None:
            counted = f"text of {len(spans) + self.special:,} tokens"
        else:
            size = len(text.encode("utf-8"))
            counted = (
                f"text of {size:,} UTF-8 bytes (at least {-(-size // self.per_token):,} tokens)"
            )
        return (
            f"{counted}; the model takes at most {self.limit:,} tokens per input "
            "(pass long_inputs='truncate' or 'chunk' to embed it anyway)"
        )

    def truncate(self, text: str, spans: list[tuple[int, int]]) -> str:
        """``text`` cut so that it surely fits."""
        if self.tokenizer is None:
            return _cut_bytes(text.encode("utf-8"), 0, self.budget)[1]
        cut = text[: spans[self.budget - 1][1]]
        for _ in range(3):  # re-tokenising a cut text may merge differently at the cut
            again = self.tokenizer.token_spans(cut)
            if len(again) <= self.budget:
                break
            cut = cut[: again[self.budget - 1][1]]
        return cut

    def pieces(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[Input, float]]:
        """``text`` split into pieces that surely fit, each with its weight (its length)."""
        if self.tokenizer is None:  # a piece of n bytes has at most n characters
            return _byte_pieces(text, min(self.budget, self.max_chars or self.budget))
        return self._token_pieces(text, spans, 0)

    def _token_pieces(
        self, text: str, spans: list[tuple[int, int]], depth: int
    ) -> list[tuple[Input, float]]:
        assert self.tokenizer is not None
        out: list[tuple[Input, float]] = []
        start = 0
        for first in range(0, len(spans), self.budget):
            group = spans[first : first + self.budget]
            end = group[-1][1] if first + self.budget < len(spans) else len(text)
            piece, start = text[start:end], end
            if not piece.strip():
                continue
            again = self.tokenizer.token_spans(piece)
            if len(again) > self.budget and depth < 3:  # merged differently once cut
                out.extend(self._token_pieces(piece, again, depth + 1))
            else:
                out.append((piece, float(max(1, len(again)))))
        return out


def _cut_bytes(data: bytes, start: int, budget: int) -> tuple[int, str]:
    """``(end, text)``: the longest run of whole characters from ``start`` within ``budget``
    bytes, ending after a space or newline when one is in its last fifth."""
    end = min(start + budget, len(data))
    if end < len(data):
        while end > start and (data[end] & 0xC0) == 0x80:  # not inside a character
            end -= 1
        floor = start + budget * 4 // 5
        space = max(data.rfind(b" ", floor, end), data.rfind(b"\n", floor, end))
        if space >= floor:
            end = space + 1
    return end, data[start:end].decode("utf-8")


def _byte_pieces(text: str, budget: int) -> list[tuple[Input, float]]:
    data = text.encode("utf-8")
    out: list[tuple[Input, float]] = []
    start = 0
    while start < len(data):
        end, piece = _cut_bytes(data, start, budget)
        if end <= start:  # cannot happen with budget >= 4; guard against a loop anyway
            end, piece = start + budget, data[start : start + budget].decode("utf-8", "ignore")
        if piece.strip():
            out.append((piece, float(end - start)))
        start = end
    return out

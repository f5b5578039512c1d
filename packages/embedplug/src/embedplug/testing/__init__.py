"""Local stub servers that speak each provider's embeddings protocol, with fault injection.

For embedplug's own tests and for plugin authors: no network, no keys, and
deterministic vectors you can compare against::

    import httpx
    from embedplug.testing import Fault, StubServer

    with StubServer(variant="openai", dimensions=256) as server:
        server.inject(Fault.status(429, headers={"Retry-After": "0"}))
        r = httpx.post(server.endpoint, json={"model": "m", "input": ["a", "b"]})
        assert r.status_code == 429 and r.headers["x-request-id"] == "req-1"
        r = httpx.post(server.endpoint, json={"model": "m", "input": ["a", "b"]})
        first = r.json()["data"][0]["embedding"]
        assert abs(first[0] - server.expected_vector("a")[0]) < 1e-6

In pytest, the ``stub_server`` factory fixture (``embedplug.testing.pytest_plugin``)
starts servers and stops them at teardown: ``server = stub_server("cohere")``.
From a shell: ``python -m embedplug.testing.stub --variant openai --dimensions 1024``
prints the server's URL on its first line and serves until SIGTERM/SIGINT.

Variants (``StubServer(variant=...)``; ``server.endpoint`` is the full URL). The
core ships the two protocol families; provider packages add their own variants
through the ``register_stub_variants`` hook (``all_variant_names()`` lists all):

=================  ====================================  =============================
name               path                                  protocol
=================  ====================================  =============================
``openai``         ``POST /v1/embeddings``               OpenAI, float or base64
``openai-floats``  ``POST /v1/embeddings``               OpenAI, always JSON floats
``cohere``         ``POST /v2/embed``                    texts / images / inputs,
                                                         embeddings by type
=================  ====================================  =============================

Vectors: the same content always gives the same unit-norm float32 vector
(seeded by a blake2b hash of the text, the image bytes, or a mixed input's
parts concatenated); a smaller requested dimension is the full vector
truncated and re-normalised. ``server.expected_vector(content, dims)`` and
``server.expected_vectors(contents, dims, embedding_type=...)`` give what the
server answers; quantised types use ``embedplug._quantize.quantize``.

Recording: ``server.requests`` (method, path, lower-cased headers, raw and
parsed body, status, fault), ``request_count``, ``peak_in_flight``,
``inputs_seen`` (a Counter of embedded inputs, faulted answers excluded) and
``reset_stats()``. Every response carries ``x-request-id: req-<n>``.

Faults (``server.inject(...)``, FIFO, each ``times=1`` by default, optionally
``path=``): ``Fault.status(code, headers=, body=, message=, code=)``,
``Fault.latency(s)``, ``Fault.reset(fraction=, abort=)``, ``Fault.disconnect()``,
``Fault.malformed_json()``, ``Fault.wrong_count()``, ``Fault.shuffle()``,
``Fault.duplicate_index()``, ``Fault.out_of_range_index()``, ``Fault.nan()``,
``Fault.bad_base64(mode=)``, ``Fault.wrong_dimension(d)``.

Adding a variant
----------------
Subclass the family your provider resembles and set class attributes;
override a method only where they do not fit::

    from embedplug.testing import OpenAIVariant, register_variant

    class AcmeVariant(OpenAIVariant):
        name = "acme"                      # unique; used by StubServer and the CLI
        path = "/api/embed"
        default_model = "acme-embed-1"
        default_dimensions = 768
        max_items = 128
        max_chars = 8000
        encodings = ("float", "base64")

        def envelope(self, call, data, ctx):  # a different response wrapper
            return {"vectors": data, "model": call.model}

    register_variant(AcmeVariant)          # or StubServer(variant=AcmeVariant())

A provider package ships its variant from a stub module (``_stub.py``) and
registers it with the ``register_stub_variants`` hook, importing the module
inside the hook implementation.

``OpenAIVariant`` attributes: ``path``, ``default_model``,
``default_dimensions``, ``model_dimensions``, ``models``, ``max_items``,
``max_chars``, ``encodings``/``default_encoding``/``force_float``,
``dimensions_param``, ``input_type_param``/``input_types``/``salt_input_type``,
``embedding_type_param``/``embedding_types``, ``known_params``/
``ignore_params_flag``, ``validation_status``; methods ``parse``, ``envelope``,
``error``. ``CohereVariant`` adds ``accepts``, ``inputs_input_types``,
``allowed_dimensions``, ``single_image_marker``, ``max_image_bytes``,
``image_tokens``, ``api_version``; methods ``response_id``, ``finish``. A wholly
new protocol subclasses ``Variant`` and implements ``parse`` (JSON body ->
``EmbedCall``, raising ``StubError`` to refuse), ``render`` (call + float32
vectors -> JSON-able body, applying the per-item faults) and ``error``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedplug._lazy import lazy_attributes
from embedplug.testing._faults import Fault, FaultKind

if TYPE_CHECKING:
    from embedplug.testing._cohere_family import CohereVariant
    from embedplug.testing._openai_family import OpenAIFloatsVariant, OpenAIVariant
    from embedplug.testing._registry import (
        CORE_VARIANTS,
        VARIANTS,
        all_variant_names,
        get_variant,
        register_variant,
    )
    from embedplug.testing._server import RecordedRequest, StubServer
    from embedplug.testing._transport import RequestHandler
    from embedplug.testing._variant import (
        ALL_EMBEDDING_TYPES,
        SEARCH_TYPES,
        TEXT_INPUT_TYPES,
        Context,
        EmbedCall,
        ImageInfo,
        Item,
        StubError,
        Variant,
        count_tokens,
    )
    from embedplug.testing._vectors import rows_to_base64

__all__ = [
    "ALL_EMBEDDING_TYPES",
    "CORE_VARIANTS",
    "SEARCH_TYPES",
    "TEXT_INPUT_TYPES",
    "VARIANTS",
    "CohereVariant",
    "Context",
    "EmbedCall",
    "Fault",
    "FaultKind",
    "ImageInfo",
    "Item",
    "OpenAIFloatsVariant",
    "OpenAIVariant",
    "RecordedRequest",
    "RequestHandler",
    "StubError",
    "StubServer",
    "Variant",
    "all_variant_names",
    "count_tokens",
    "get_variant",
    "register_variant",
    "rows_to_base64",
]

# NumPy and http.server load on first use, so importing this package stays cheap.
_LAZY = {
    "RecordedRequest": "_server",
    "RequestHandler": "_transport",
    "StubServer": "_server",
    "CORE_VARIANTS": "_registry",
    "VARIANTS": "_registry",
    "all_variant_names": "_registry",
    "get_variant": "_registry",
    "register_variant": "_registry",
    "OpenAIVariant": "_openai_family",
    "OpenAIFloatsVariant": "_openai_family",
    "CohereVariant": "_cohere_family",
    "ALL_EMBEDDING_TYPES": "_variant",
    "SEARCH_TYPES": "_variant",
    "TEXT_INPUT_TYPES": "_variant",
    "Context": "_variant",
    "EmbedCall": "_variant",
    "ImageInfo": "_variant",
    "Item": "_variant",
    "StubError": "_variant",
    "Variant": "_variant",
    "count_tokens": "_variant",
    "rows_to_base64": "_vectors",
}


__getattr__, __dir__ = lazy_attributes(
    __name__,
    {name: f"{__name__}.{module}" for name, module in _LAZY.items()},
    dir_namespace=True,
)

"""``EmbedplugEmbeddings`` beyond the standard tests: what reaches the provider, and how.

Input types per method, vectors identical to what the stub server computes,
embedding types, construction and its errors, async on the async engine, and
keys kept out of ``repr``, errors and LangChain serialisation.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.load import dumpd, dumps, load
from pydantic import SecretStr, ValidationError

import embedplug
import langchain_embedplug
from embedplug import ModelInfo
from embedplug.testing import StubServer
from langchain_embedplug import EmbedplugEmbeddings

if TYPE_CHECKING:
    from conftest import LangChainStubs

DOCS = ["The Eiffel Tower is in Paris.", "Penguins live in Antarctica.", "Tea is brewed."]


def last_body(server: StubServer) -> dict[str, Any]:
    body = server.requests[-1].json
    assert isinstance(body, dict)
    return body


def as_lists(arr: np.ndarray[Any, Any]) -> list[list[float]]:
    out: list[list[float]] = arr.astype(np.float32).tolist()
    return out


# ----------------------------------------------------------------------------- public surface


def test_public_api() -> None:
    assert langchain_embedplug.__all__ == ["EmbedplugEmbeddings", "ImageLike", "__version__"]
    assert issubclass(EmbedplugEmbeddings, Embeddings)
    assert EmbedplugEmbeddings.model_config["extra"] == "forbid"
    assert EmbedplugEmbeddings.model_fields["api_key"].annotation == SecretStr | None


# ----------------------------------------------------------------------------- what is sent


def test_documents_and_query_send_their_input_types(lc: LangChainStubs) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params(dimensions=256))

    docs = emb.embed_documents(DOCS)
    body = last_body(lc.cohere)
    assert body["input_type"] == "search_document"
    assert body["texts"] == DOCS
    assert body["output_dimension"] == 256
    assert docs == as_lists(lc.cohere.expected_vectors(DOCS, 256))

    query = emb.embed_query("Where is the Eiffel Tower?")
    body = last_body(lc.cohere)
    assert body["input_type"] == "search_query"
    assert body["texts"] == ["Where is the Eiffel Tower?"]
    assert query == as_lists(lc.cohere.expected_vectors(["Where is the Eiffel Tower?"], 256))[0]


def test_input_types_are_configurable(lc: LangChainStubs) -> None:
    emb = EmbedplugEmbeddings(
        **lc.cohere_params(),
        query_input_type="classification",
        document_input_type="clustering",
    )
    emb.embed_query("a")
    assert last_body(lc.cohere)["input_type"] == "classification"
    emb.embed_documents(["b"])
    assert last_body(lc.cohere)["input_type"] == "clustering"


def test_server_without_input_type_field_gets_prefixes(lc: LangChainStubs) -> None:
    # No input_type field in OpenAI's protocol: the provider translates it to a prefix.
    emb = EmbedplugEmbeddings(
        **lc.openai_params(),
        prefixes={"search_query": "query: ", "search_document": "passage: "},
    )
    assert emb.provider_options == {
        "prefixes": {"search_query": "query: ", "search_document": "passage: "}
    }
    emb.embed_query("how tall is it")
    body = last_body(lc.openai)
    assert "input_type" not in body
    assert body["input"] == ["query: how tall is it"]
    emb.embed_documents(["it is 330 m tall"])
    assert last_body(lc.openai)["input"] == ["passage: it is 330 m tall"]


def test_model_without_input_types(lc: LangChainStubs) -> None:
    plain = ModelInfo(name="plain-embed", dimensions=1536, input_types=frozenset())
    emb = EmbedplugEmbeddings(**lc.openai_params(model="openai:plain-embed"), extra_models=[plain])
    vector = emb.embed_query("hello")  # the default input type is dropped for this model
    assert last_body(lc.openai)["input"] == ["hello"]
    assert vector == lc.openai.expected_vector("hello").tolist()

    with pytest.raises(ValidationError, match="does not take query_input_type='search_query'"):
        EmbedplugEmbeddings(
            **lc.openai_params(model="openai:plain-embed"),
            extra_models=[plain],
            query_input_type="search_query",
        )


@pytest.mark.parametrize(
    ("embedding_type", "width"), [("int8", 256), ("uint8", 256), ("binary", 32), ("ubinary", 32)]
)
def test_embedding_types_come_back_as_floats(
    lc: LangChainStubs, embedding_type: str, width: int
) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params(dimensions=256), embedding_type=embedding_type)
    vectors = emb.embed_documents(DOCS[:2])
    assert last_body(lc.cohere)["embedding_types"] == [embedding_type]
    expected = lc.cohere.expected_vectors(DOCS[:2], 256, embedding_type=embedding_type)
    assert expected.dtype.kind in "iu"
    assert [len(v) for v in vectors] == [width, width]
    assert all(isinstance(x, float) and x.is_integer() for v in vectors for x in v)
    assert vectors == as_lists(expected)


def test_float_vectors_are_the_servers_float32_values(lc: LangChainStubs) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params())
    vectors = emb.embed_documents(DOCS)
    assert last_body(lc.cohere)["embedding_types"] == ["base64"]  # fast transport
    expected = lc.cohere.expected_vectors(DOCS, 1536)
    assert expected.dtype == np.float32
    assert vectors == expected.tolist()  # bit-for-bit, no rounding on the way
    assert type(vectors[0][0]) is float


def test_empty_documents_send_nothing(lc: LangChainStubs) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params())
    before = lc.cohere.request_count
    assert emb.embed_documents([]) == []
    assert lc.cohere.request_count == before


def test_invalid_input_is_refused_before_sending(lc: LangChainStubs) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params())
    before = lc.cohere.request_count
    with pytest.raises(embedplug.InvalidInputError, match="input 1: empty"):
        emb.embed_documents(["fine", "   "])
    assert lc.cohere.request_count == before


# ----------------------------------------------------------------------------- async


async def test_async_equals_sync_over_http(lc: LangChainStubs) -> None:
    async with EmbedplugEmbeddings(**lc.cohere_params(dimensions=512)) as emb:
        sync_docs = emb.embed_documents(DOCS)
        sync_query = emb.embed_query("penguins")
        # Native async: the sync path must not be used underneath.
        emb.embedder.embed = _refuse  # type: ignore[method-assign]
        before = lc.cohere.request_count
        assert await emb.aembed_documents(DOCS) == sync_docs
        assert await emb.aembed_query("penguins") == sync_query
        assert last_body(lc.cohere)["input_type"] == "search_query"
        assert lc.cohere.request_count == before + 2


@pytest.mark.slow  # loads the local model
async def test_async_equals_sync_local() -> None:
    emb = EmbedplugEmbeddings(model="local:all-minilm-l6-v2")
    sync_docs = emb.embed_documents(DOCS)
    sync_query = emb.embed_query("penguins")
    emb.embedder.embed = _refuse  # type: ignore[method-assign]
    assert await emb.aembed_documents(DOCS) == sync_docs
    assert await emb.aembed_query("penguins") == sync_query
    assert len(sync_query) == 384


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the async methods must not call the sync embed")


# ----------------------------------------------------------------------------- construction


def test_default_model_and_resolution() -> None:
    assert EmbedplugEmbeddings().model == "local:all-minilm-l6-v2"
    emb = EmbedplugEmbeddings(model="local")
    assert emb.model == "local:all-minilm-l6-v2"
    assert emb.model_info.dimensions == 384
    assert emb.embedder.provider.name == "local"


def test_unknown_keywords_become_provider_options() -> None:
    emb = EmbedplugEmbeddings(model="local", device="cpu", provider_options={"batch_size": 8})
    assert emb.provider_options == {"device": "cpu", "batch_size": 8}
    with pytest.raises(embedplug.ConfigurationError, match=r"unknown option.*colour"):
        EmbedplugEmbeddings(model="local", colour="blue")
    with pytest.raises(ValidationError, match="both as a keyword and in provider_options"):
        EmbedplugEmbeddings(model="local", device="cpu", provider_options={"device": "cpu"})
    with pytest.raises(ValidationError, match="as embedding_type="):
        EmbedplugEmbeddings(model="local", embedding_types=["int8"])
    with pytest.raises(ValidationError, match="query_input_type"):
        EmbedplugEmbeddings(model="local", input_type="search_query")


def test_key_in_provider_options_is_lifted_to_the_secret_field(lc: LangChainStubs) -> None:
    params = lc.cohere_params()
    key = params.pop("api_key")
    emb = EmbedplugEmbeddings(**params, provider_options={"api_key": key})
    assert emb.provider_options == {}
    assert isinstance(emb.api_key, SecretStr)
    assert emb.api_key.get_secret_value() == key
    assert emb.embed_query("x") == lc.cohere.expected_vector("x").tolist()


def test_bad_configuration_fails_at_construction(lc: LangChainStubs) -> None:
    with pytest.raises(ValidationError, match="cannot give 100 dimensions; allowed: 256, 512"):
        EmbedplugEmbeddings(
            model=lc.cohere_model, base_url=lc.unused_url, api_key="k", dimensions=100
        )
    with pytest.raises(ValidationError, match="greater than 0"):
        EmbedplugEmbeddings(model="local", dimensions=0)
    with pytest.raises(ValidationError, match="embedding_type"):
        EmbedplugEmbeddings(model="local", embedding_type="float16")
    with pytest.raises(embedplug.UnknownProviderError, match="nope"):
        EmbedplugEmbeddings(model="nope:model")
    with pytest.raises(embedplug.UnknownModelError, match="no-such-model"):
        EmbedplugEmbeddings(model="local:no-such-model")


# ----------------------------------------------------------------------------- keys and secrets


def test_key_from_the_providers_environment_variable(
    lc: LangChainStubs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lc.cohere_key_env, lc.cohere_key)
    emb = EmbedplugEmbeddings(model=lc.cohere_model, base_url=lc.cohere.url)
    assert emb.api_key is not None
    assert emb.api_key.get_secret_value() == lc.cohere_key
    assert emb.embed_query("x") == lc.cohere.expected_vector("x").tolist()
    assert lc.cohere.requests[-1].headers["authorization"] == f"Bearer {lc.cohere_key}"

    monkeypatch.delenv(lc.cohere_key_env)
    with pytest.raises(embedplug.ConfigurationError, match=lc.cohere_key_env):
        EmbedplugEmbeddings(model=lc.cohere_model, base_url=lc.cohere.url)


def test_wrong_key_raises_without_showing_it(lc: LangChainStubs) -> None:
    wrong = "co-wrong-key-5521"
    emb = EmbedplugEmbeddings(**lc.cohere_params(api_key=wrong))
    with pytest.raises(embedplug.AuthenticationError) as info:
        emb.embed_query("x")
    assert wrong not in str(info.value)
    assert wrong not in repr(info.value)


def test_key_absent_from_repr_and_serialisation(lc: LangChainStubs) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params(dimensions=256), truncate="END")
    for text in (repr(emb), str(emb), dumps(emb), json.dumps(dumpd(emb)), emb.model_dump_json()):
        assert lc.cohere_key not in text
    assert "**" in repr(emb)

    data = dumpd(emb)
    assert data["id"] == ["langchain_embedplug", "EmbedplugEmbeddings"]
    assert data["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": [lc.cohere_key_env]}
    assert data["kwargs"]["dimensions"] == 256
    assert data["kwargs"]["provider_options"] == {"truncate": "END"}


@pytest.mark.filterwarnings(
    "ignore:The function `load` is in beta:langchain_core._api.beta_decorator.LangChainBetaWarning"
)
def test_serialisation_round_trip(lc: LangChainStubs, monkeypatch: pytest.MonkeyPatch) -> None:
    emb = EmbedplugEmbeddings(**lc.cohere_params(dimensions=256), truncate="END")
    expected = emb.embed_query("round trip")
    assert last_body(lc.cohere)["truncate"] == "END"

    revived = load(
        json.loads(dumps(emb)),
        allowed_objects=[EmbedplugEmbeddings],
        valid_namespaces=["langchain_embedplug"],
        secrets_map={lc.cohere_key_env: lc.cohere_key},
    )
    assert isinstance(revived, EmbedplugEmbeddings)
    assert revived.model == emb.model
    assert revived.dimensions == 256
    assert revived.provider_options == {"truncate": "END"}
    assert revived.embed_query("round trip") == expected

    monkeypatch.setenv(lc.cohere_key_env, lc.cohere_key)
    from_env = load(
        dumpd(emb),
        allowed_objects=[EmbedplugEmbeddings],
        valid_namespaces=["langchain_embedplug"],
        secrets_from_env=True,
    )
    assert from_env.embed_query("round trip") == expected


def test_local_model_serialises_without_secrets() -> None:
    data = dumpd(EmbedplugEmbeddings(model="local"))
    assert data["kwargs"]["model"] == "local:all-minilm-l6-v2"
    assert "api_key" not in data["kwargs"]


def test_secret_provider_options_absent_from_repr_and_serialisation(lc: LangChainStubs) -> None:
    secret = "sk-header-SECRET-42"
    emb = EmbedplugEmbeddings(**lc.openai_params(), headers={"api-key": secret}, timeout=30)
    emb.embed_query("hello")
    assert lc.openai.requests[-1].headers["api-key"] == secret  # it is used...
    for text in (repr(emb), str(emb), dumps(emb), json.dumps(dumpd(emb)), emb.model_dump_json()):
        assert secret not in text  # ...and never shown
    assert emb.provider_options == {"timeout": 30}

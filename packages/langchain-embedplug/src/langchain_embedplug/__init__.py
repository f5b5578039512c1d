"""langchain-embedplug: any embedplug provider as a LangChain ``Embeddings``.

>>> from langchain_embedplug import EmbedplugEmbeddings
>>> embeddings = EmbedplugEmbeddings(model="local:all-minilm-l6-v2")
>>> len(embeddings.embed_query("hello"))
384
"""

from __future__ import annotations

from langchain_embedplug._embeddings import EmbedplugEmbeddings, ImageLike

__version__ = "0.1.0"

__all__ = ["EmbedplugEmbeddings", "ImageLike", "__version__"]

"""Any embedplug provider as a LlamaIndex embedding model.

>>> from llama_index.core import Settings
>>> from llama_index.embeddings.embedplug import EmbedplugEmbedding
>>> Settings.embed_model = EmbedplugEmbedding("local:all-minilm-l6-v2")
"""

from llama_index.embeddings.embedplug._embedding import EmbedplugEmbedding

__all__ = ["EmbedplugEmbedding"]

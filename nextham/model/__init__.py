"""The NextHAM model: configuration, batched graph, equivariant Transformer, decoding."""

from nextham.model.config import ModelConfig
from nextham.model.graph import GraphBatch, build_batch
from nextham.model.nextham import NextHAM, build_model

__all__ = ["GraphBatch", "ModelConfig", "NextHAM", "build_batch", "build_model"]

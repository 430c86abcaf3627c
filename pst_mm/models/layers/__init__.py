# Copyright (c) pst-mm contributors. All rights reserved.
from .pst import (PST_WIDTH_FACTORS, PSABlock, PyramidSparseAttention,
                  PyramidSparseTransformer, pst_embed_channels, set_pst_topk)
from .psa_kernel import (PSAOutput, pyramid_sparse_attention,
                                       pyramid_sparse_attention_parts)

__all__ = [
    'pyramid_sparse_attention', 'pyramid_sparse_attention_parts', 'PSAOutput',
    'PyramidSparseAttention', 'PSABlock', 'PyramidSparseTransformer',
    'PST_WIDTH_FACTORS', 'pst_embed_channels', 'set_pst_topk'
]

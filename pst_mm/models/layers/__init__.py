# Copyright (c) pst-mm contributors. All rights reserved.
from .afpn_attention import (DynamicTextureAttention,
                             ForegroundAwareCoAttention)
from .context_attention import ContextExtraction, MeanAffinityAttention
from .pst import (PST_CFG_DEFAULTS, PSABlock, PSTConfigMixin,
                  PyramidSparseAttention, PyramidSparseTransformer,
                  set_pst_topk)
from .psa_kernel import (PSAOutput, pyramid_sparse_attention,
                         pyramid_sparse_attention_parts)
from .reassembly import (ChannelReweightedSum, DualLevelReassembly,
                         MultiLevelGlobalContext, content_aware_reassembly)
from .select_pack_attention import (pack_tokens, packed_attention,
                                    select_pack_attention, select_tokens)
from .sparse_attention_block import SparseAttentionBlock, select_local_peaks

__all__ = [
    'pyramid_sparse_attention', 'pyramid_sparse_attention_parts', 'PSAOutput',
    'PyramidSparseAttention', 'PSABlock', 'PyramidSparseTransformer',
    'PST_CFG_DEFAULTS', 'PSTConfigMixin', 'set_pst_topk',
    'content_aware_reassembly', 'DualLevelReassembly', 'ChannelReweightedSum',
    'MultiLevelGlobalContext', 'ContextExtraction', 'MeanAffinityAttention',
    'DynamicTextureAttention', 'ForegroundAwareCoAttention',
    'SparseAttentionBlock', 'select_local_peaks', 'select_pack_attention',
    'select_tokens', 'pack_tokens', 'packed_attention'
]

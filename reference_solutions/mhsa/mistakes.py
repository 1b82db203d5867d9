"""The mistakes the MHSA reference can reproduce, each with the rubric items it fails and what to tell the candidate."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    """A named mistake: the rubric items it violates and the feedback that explains it."""

    id: str
    items: tuple[str, ...]
    message: str


MISTAKES: dict[str, Mistake] = {
    mistake.id: mistake
    for mistake in (
        Mistake("no_scale", ("scaling",),
                "Your attention scores are not scaled: divide QK^T by sqrt(head_dim) before the softmax "
                "(without it the softmax saturates as head_dim grows)."),
        Mistake("scale_by_embed_dim", ("scaling",),
                "You scale QK^T by 1/sqrt(embed_dim); the scale is 1/sqrt(head_dim), where head_dim = "
                "embed_dim / num_heads."),
        Mistake("softmax_over_queries", ("softmax_over_keys",),
                "Your attention weights are normalised over the query axis (dim -2 of QK^T); softmax must run "
                "over the keys, the last axis, so that each query's weights sum to 1."),
        Mistake("softmax_over_heads", ("softmax_over_keys",),
                "Your softmax normalises across the heads; it must run over the keys (the last axis of QK^T) "
                "within each head."),
        Mistake("softmax_over_batch", ("softmax_over_keys",),
                "Your softmax normalises across the batch; it must run over the keys (the last axis of QK^T) "
                "within each sequence."),
        Mistake("no_output_projection", ("output_projection",),
                "After concatenating the heads you return them directly; apply a learned "
                "(embed_dim x embed_dim) output projection."),
        Mistake("batch_first_input", ("sequence_first_layout",),
                "You read the (seq, batch, embed) input as (batch, seq, embed): attention mixes the sequences of "
                "a batch and never the positions of one sequence. The first axis is the sequence (torch's "
                "batch_first=False layout); transpose if you compute batch-first inside."),
        Mistake("split_before_projection", ("projection_before_split",),
                "You split the raw input into heads before projecting, so each head sees only its head_dim slice "
                "of the embedding. Project the whole embedding with (embed_dim x embed_dim) maps, then split the "
                "result into heads."),
        Mistake("scale_after_softmax", ("scaling",),
                "You divide the attention weights by sqrt(head_dim) after the softmax, so they no longer sum to "
                "1 and the softmax sees unscaled scores; scale QK^T before the softmax."),
        Mistake("causal_mask", ("no_extra_operations",),
                "You mask the later positions (an autoregressive, causal mask): each query attends only to the "
                "keys before it. This problem's self-attention has no mask; every query attends to every key."),
        Mistake("heads_merged_by_reshape", ("output_projection",),
                "You merge the heads with a plain reshape of (batch, heads, seq, head_dim) (or of "
                "(batch * heads, seq, head_dim)), which scrambles heads and positions; move the head axis next "
                "to head_dim (permute or transpose) before reshaping to (seq, batch, embed_dim)."),
        Mistake("extra_residual_layernorm", ("no_extra_operations",),
                "You return LayerNorm(x + attention): a residual connection and a normalisation belong to the "
                "transformer block around the attention, not to the attention itself. Return the output "
                "projection of the heads."),
        Mistake("layernorm_before_attention", ("no_extra_operations",),
                "You apply a LayerNorm to x before the projections (pre-norm); the attention asked for projects "
                "x itself. Normalisation belongs to the block around the attention."),
        Mistake("no_value_projection", ("projection_before_split",),
                "You use the input itself as the values (V = x): there is no learned value projection. Project "
                "x to V with its own (embed_dim x embed_dim) map, as for Q and K."),
        Mistake("shared_qk_projection", ("projection_before_split",),
                "Your queries and keys come from one shared projection (Q = K), so the scores are symmetric. Q "
                "and K need separate learned projections."),
        Mistake("dropout_in_eval", ("deterministic",),
                "Dropout on your attention weights is active in eval mode, so the output is random at inference. "
                "Use an nn.Dropout module (which follows model.eval()) or pass training=self.training to "
                "F.dropout."),
        Mistake("single_head_copied", ("distinct_heads",),
                "All your heads are the same head: it is computed once and copied num_heads times. Each head must "
                "use its own slice of the projected Q, K and V."),
    )
}

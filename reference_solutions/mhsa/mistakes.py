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
        Mistake("single_head_copied", ("distinct_heads",),
                "All your heads are the same head: it is computed once and copied num_heads times. Each head must "
                "use its own slice of the projected Q, K and V."),
    )
}

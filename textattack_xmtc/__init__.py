"""textattack-xmtc: adversarial attacks on extreme multilabel text classifiers.

A TextAttack plugin implementing and extending Qaraei & Babbar, *Adversarial
Examples for Extreme Multilabel Text Classification* (arXiv:2112.07512).

Usage::

    import textattack_xmtc as tx
    victim = tx.load_victim("attentionxml-reuters21578")
    attack = tx.XMTCPositive.build(victim)

Importing the package is cheap: it prepares an offline ``import textattack``
and loads the heavy parts (TextAttack, torch models) only when first used.
"""
from ._offline import prepare_offline_textattack

prepare_offline_textattack()

__version__ = "0.1.0"

# Public name -> module that defines it; imported on first access so that
# ``textattack-xmtc --help`` and the start-up hook stay fast.
_EXPORTS = {
    "PositiveTargetedTopK": "goal_functions",
    "NegativeTargetedTopK": "goal_functions",
    "UntargetedTopK": "goal_functions",
    "XMTCPositive": "attack_recipes",
    "XMTCNegative": "attack_recipes",
    "XMTCUntargeted": "attack_recipes",
    "XMTCAttack": "attack",
    "XMTCModelWrapper": "model_wrappers",
    "load_victim": "model_wrappers",
    "XMTCTarget": "datasets",
    "XMTCDataset": "datasets",
    "read_targets": "datasets",
    "load_corpus": "datasets",
    "result_row": "results",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'textattack_xmtc' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{module_name}", __name__)
    return getattr(module, name)

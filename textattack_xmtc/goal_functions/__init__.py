"""Goal functions: positive-targeted, negative-targeted and untargeted top-k attacks."""
from .results import TopKOutput, XMTCGoalFunctionResult
from .topk import DEFAULT_K, NegativeTargetedTopK, PositiveTargetedTopK, TopKGoalFunction, UntargetedTopK

__all__ = ["DEFAULT_K", "NegativeTargetedTopK", "PositiveTargetedTopK", "TopKGoalFunction",
           "TopKOutput", "UntargetedTopK", "XMTCGoalFunctionResult"]

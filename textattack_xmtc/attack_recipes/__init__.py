"""Attack recipes: ``xmtc-pos``, ``xmtc-neg`` and ``xmtc-untargeted``."""
from .options import RecipeOptions
from .xmtc_recipes import RECIPES, XMTCNegative, XMTCPositive, XMTCRecipe, XMTCUntargeted

__all__ = ["RECIPES", "RecipeOptions", "XMTCNegative", "XMTCPositive", "XMTCRecipe", "XMTCUntargeted"]

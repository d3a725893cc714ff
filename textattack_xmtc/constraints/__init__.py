"""Constraints specific to XMTC attacks."""
from .document_similarity import DocumentSimilarity

__all__ = ["DocumentSimilarity"]

"""Constraints specific to XMTC attacks."""
from .change_rate import MaxWhitespaceChangeRate, paper_word_count
from .document_similarity import DocumentSimilarity
from .label_words import LabelWordModification, label_name_words

__all__ = ["DocumentSimilarity", "LabelWordModification", "MaxWhitespaceChangeRate", "label_name_words",
           "paper_word_count"]

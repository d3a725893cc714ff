"""Make ``import textattack`` work on a machine without internet.

TextAttack downloads six NLTK packages on first import unless a marker file
exists in its cache directory, and it needs NLTK's English stopword list at
import time. We ship that list and write the marker, so nothing is downloaded.
This module is imported by the start-up hook, so it is stdlib-only.
"""
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
NLTK_DATA_DIR = os.path.join(PACKAGE_DIR, "data", "nltk_data")
MARKER_NAME = "post_install_check_3"


def textattack_cache_dir() -> str:
    """TextAttack's cache directory (``$TA_CACHE_DIR``, else ~/.cache/textattack)."""
    return os.environ.get("TA_CACHE_DIR", os.path.expanduser("~/.cache/textattack"))


def prepare_offline_textattack() -> None:
    """Write TextAttack's post-install marker and put our NLTK data on the path.

    Idempotent and cheap; call it before the first ``import textattack``.
    """
    marker = os.path.join(textattack_cache_dir(), MARKER_NAME)
    if not os.path.exists(marker):
        try:
            os.makedirs(os.path.dirname(marker), exist_ok=True)
            open(marker, "a").close()
        except OSError:
            pass  # read-only home: TextAttack will try (and fail) to download
    _add_nltk_data_dir()


def _add_nltk_data_dir() -> None:
    paths = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    if NLTK_DATA_DIR not in paths:
        os.environ["NLTK_DATA"] = os.pathsep.join(paths + [NLTK_DATA_DIR])
    nltk_data = sys.modules.get("nltk.data")
    if nltk_data is not None and NLTK_DATA_DIR not in nltk_data.path:
        nltk_data.path.append(NLTK_DATA_DIR)

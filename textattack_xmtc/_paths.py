"""Where the package keeps its shipped data and its cache."""
import os
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def cache_dir() -> Path:
    """``$TEXTATTACK_XMTC_CACHE``, else ``$XDG_CACHE_HOME/textattack_xmtc``."""
    explicit = os.environ.get("TEXTATTACK_XMTC_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(xdg) / "textattack_xmtc"

"""File-name conventions shared by code that must not import TextAttack (the start-up hook's registration)."""

TARGET_FILE_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".csv", ".csv.gz")
"""Names of targets files (matched in any case); :func:`~textattack_xmtc.datasets.read_targets` reads them."""

"""Training victims: ``textattack-xmtc train`` and the built-in models."""

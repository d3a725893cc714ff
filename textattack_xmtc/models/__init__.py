"""Victim networks in plain torch (no TextAttack): AttentionXML, its tokenizer, the built-in models.

Parameter names follow the original implementations so that their
checkpoints load with ``load_state_dict(strict=True)``.
"""

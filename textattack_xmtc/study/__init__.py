"""The paper's study as commands: evaluate a victim, select targets by label frequency,
run the attacks resumably over processes or a Ray cluster, and report per bin.

One module per step (``bins``, ``evaluation``, ``selection``, ``experiment``,
``report``); the ``textattack-xmtc`` subcommands in :mod:`textattack_xmtc.cli`
are thin layers over them.
"""

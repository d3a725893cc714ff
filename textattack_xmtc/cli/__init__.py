"""Command line: the ``textattack-xmtc`` command and the registration with ``textattack``."""

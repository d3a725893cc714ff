"""Start-up hook for textattack-xmtc.

Python runs ``textattack_xmtc.pth`` in every interpreter that uses this
site-packages. Its one line imports nothing: it puts a stub finder first on
``sys.meta_path`` that compares each import's name with ``"textattack"``.
The first time TextAttack is imported, the stub calls :func:`take_over`, which
imports this module (stdlib-only) and replaces the stub with :class:`_Finder`.
An interpreter that never imports TextAttack never loads this module.

The finder, which never raises:

* as ``textattack`` starts importing, puts the NLTK stopword list we ship at
  the end of NLTK's search path (see ``textattack_xmtc._offline``; nothing is
  written to disk), and
* right after ``textattack.attack_args``, ``model_args``, ``dataset_args`` and
  ``training_args`` are imported, registers our recipes, models and datasets
  so that the stock ``textattack`` command knows them.

Set ``TEXTATTACK_XMTC_DISABLE_HOOK=1`` to switch it all off (the ``.pth``
line then installs nothing). Importing this module directly installs the
finder too (unless switched off).
"""
import sys

# Module -> function of textattack_xmtc.cli.registration run right after it is imported.
_AFTER_IMPORT = {
    "textattack.attack_args": "register_recipes",
    "textattack.model_args": "extend_model_args",
    "textattack.dataset_args": "extend_dataset_args",
    "textattack.training_args": "extend_training_args",
}
_WATCHED = dict(_AFTER_IMPORT, textattack=None)


def _warn(message):
    sys.stderr.write(f"textattack-xmtc: {message}\n")


class _Finder:
    """A meta-path finder (a plain class: ``importlib.abc`` would cost every start-up ~30 ms)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _WATCHED:
            return None
        try:
            from textattack_xmtc import _offline

            if fullname == "textattack":
                _offline.prepare_offline_textattack()
                return None
        except Exception as error:  # a broken plugin must not break TextAttack
            _warn(f"could not prepare the import of {fullname}: {error!r}")
            return None
        return _offline.spec_running_after(self, fullname, path, target, _registration(_AFTER_IMPORT[fullname]))


def _registration(function_name):
    def register(module):
        try:
            from textattack_xmtc.cli import registration

            getattr(registration, function_name)(module)
        except Exception as error:  # a broken plugin must not break TextAttack
            _warn(f"could not register with {module.__name__}: {error!r}")

    return register


def install():
    """Put the finder first on ``sys.meta_path`` (once), unless ``TEXTATTACK_XMTC_DISABLE_HOOK`` is set."""
    import os

    if os.environ.get("TEXTATTACK_XMTC_DISABLE_HOOK"):
        return None
    for finder in sys.meta_path:
        if isinstance(finder, _Finder):
            return finder
    finder = _Finder()
    sys.meta_path.insert(0, finder)
    return finder


def take_over(stub, fullname, path=None, target=None):
    """The ``.pth`` stub's ``find_spec`` for ``textattack``: replace the stub by the finder and ask it."""
    try:
        sys.meta_path.remove(stub)
    except ValueError:
        pass
    finder = install()
    return None if finder is None else finder.find_spec(fullname, path, target)


install()

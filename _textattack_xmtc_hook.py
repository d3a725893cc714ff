"""Start-up hook for textattack-xmtc, imported by ``textattack_xmtc.pth``.

Python imports this module in every interpreter that uses this site-packages,
so it is stdlib-only, does nothing until TextAttack is imported, and never
raises. It installs a meta-path finder that:

* before ``textattack`` is imported, makes the import work offline (the NLTK
  stopword list we ship and TextAttack's "already installed" marker), and
* right after ``textattack.attack_args``, ``textattack.model_args`` and
  ``textattack.dataset_args`` are imported, registers our recipes, models and
  datasets so that the stock ``textattack`` command knows them.

Set ``TEXTATTACK_XMTC_DISABLE_HOOK=1`` to switch it off.
"""
import importlib.abc
import os
import sys

_AFTER_IMPORT = {
    "textattack.attack_args": "register_recipes",
    "textattack.model_args": "extend_model_args",
    "textattack.dataset_args": "extend_dataset_args",
}


def _warn(message):
    sys.stderr.write(f"textattack-xmtc: {message}\n")


class _RegisteringLoader(importlib.abc.Loader):
    """Runs the real loader, then one registration function on the module."""

    def __init__(self, loader, function_name):
        self._loader = loader
        self._function_name = function_name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            from textattack_xmtc.cli import registration

            getattr(registration, self._function_name)(module)
        except Exception as error:  # a broken plugin must not break TextAttack
            _warn(f"could not register with {module.__name__}: {error!r}")

    def __getattr__(self, name):  # get_source, get_filename, ... for tracebacks
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "textattack":
            _prepare_offline()
            return None
        function_name = _AFTER_IMPORT.get(fullname)
        if function_name is None:
            return None
        spec = self._find_real_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _RegisteringLoader(spec.loader, function_name)
        return spec

    def _find_real_spec(self, fullname, path, target):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


def _prepare_offline():
    try:
        from textattack_xmtc._offline import prepare_offline_textattack

        prepare_offline_textattack()
    except Exception as error:
        _warn(f"could not prepare an offline TextAttack import: {error!r}")


def install():
    if os.environ.get("TEXTATTACK_XMTC_DISABLE_HOOK"):
        return
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()

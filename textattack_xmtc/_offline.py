"""Make ``import textattack`` work without internet, touching nothing of TextAttack's.

TextAttack needs NLTK's English stopword list when it is imported (a
LookupError otherwise), and NLTK ships no data. We ship that one list and put
its directory LAST on NLTK's search path (after ``$NLTK_DATA``,
``~/nltk_data`` and the system directories), so that any NLTK data the user
has wins, and nothing is written anywhere. TextAttack's own one-time set-up is
left to TextAttack: on its first import it tries to download six NLTK packages
and then writes ``post_install_check_3`` in its cache directory, whether they
succeeded or not. Offline they fail quickly (a name-resolution error; all six
took 1.4-2 s on a busy 2-core machine, also in a network namespace with no
network at all), printing six ``[nltk_data] Error loading ...`` messages on
stderr, once per cache directory; our recipes need none of those packages.

Also here, because the start-up hook and this module both need it: running a
function right after a module is imported, through a meta-path finder that
wraps the module's real loader. Stdlib-only: imported by the start-up hook.
"""
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
NLTK_DATA_DIR = os.path.join(PACKAGE_DIR, "data", "nltk_data")


def prepare_offline_textattack() -> None:
    """Put our NLTK stopword list last on NLTK's search path, now or when ``nltk.data`` is imported.

    Idempotent and cheap (no file is written, no environment variable set);
    call it before the first ``import textattack``.
    """
    nltk_data = sys.modules.get("nltk.data")
    if nltk_data is not None:
        _append_nltk_data_dir(nltk_data)
    elif not any(isinstance(finder, _NLTKDataFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NLTKDataFinder())


def _append_nltk_data_dir(nltk_data_module) -> None:
    path = getattr(nltk_data_module, "path", None)
    if isinstance(path, list) and NLTK_DATA_DIR not in path:
        path.append(NLTK_DATA_DIR)


class _NLTKDataFinder:
    """Extends ``nltk.data.path`` once ``nltk.data`` has built it, then leaves ``sys.meta_path``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "nltk.data":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        return spec_running_after(self, fullname, path, target, _append_nltk_data_dir)


def spec_running_after(finder, fullname, path, target, after):
    """The spec the other meta-path finders give ``fullname``, with ``after(module)`` run once it is executed.

    None (the import goes on as usual) when no other finder has a spec with an ``exec_module`` loader.
    """
    for other in list(sys.meta_path):
        if other is finder or not hasattr(other, "find_spec"):
            continue
        spec = other.find_spec(fullname, path, target)
        if spec is not None:
            if spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return None
            spec.loader = _LoaderRunningAfter(spec.loader, after)
            return spec
    return None


class _LoaderRunningAfter:
    """Runs the real loader, then ``after(module)``.

    A plain class: subclassing ``importlib.abc.Loader`` would import
    ``importlib.abc`` (with ``importlib.resources``, ~30 ms) at start-up.
    """

    def __init__(self, loader, after):
        self._loader = loader
        self._after = after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._after(module)

    def __getattr__(self, name):  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self._loader, name)

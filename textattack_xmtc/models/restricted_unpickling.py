"""Reading pickled checkpoints without running what they name: tensors, arrays and plain values only.

A PyTorch Lightning ``.ckpt`` is a ``torch.save`` archive whose pickle may
name any importable callable. LibMultiLabel's checkpoints cannot be read with
``torch.load(weights_only=True)``: its ``Model`` calls
``save_hyperparameters`` with the whole network object as an argument
(libmultilabel/nn/model.py), so ``hyper_parameters["network"]`` pickles
LibMultiLabel's and ``torch.nn``'s module classes. Plain ``torch.load`` would
import and run whatever the file names.

:func:`load_checkpoint` reads such a file through :class:`RestrictedUnpickler`
(given to ``torch.load`` as its ``pickle_module``, so that torch still reads
the zip or legacy container and the tensor storages). Every global the pickle
names is looked up in a fixed list before anything is built:

* admitted as themselves, because a state dict is made of them:
  ``collections.OrderedDict``, torch's tensor and parameter rebuilders, torch
  dtypes, ``torch.device``, ``torch.Size``, numpy's array rebuilders, the
  built-in ``set``/``frozenset``/``bytearray``/``object`` and a latin-1-only
  stand-in for ``_codecs.encode`` (protocol 2 pickles bytes with it); torch
  itself resolves its ``*Storage`` types before this list is consulted;
* rebuilt as inert :class:`StandIn` records, never imported: classes of
  ``libmultilabel``, ``torch.nn.modules`` and Lightning (the pickled network
  object and its modules). A record keeps the arguments and state it was
  given and does nothing else;
* anything else (``builtins.eval``, ``os.system``, ``posix.system``,
  ``subprocess.Popen``, ``functools.partial``, ...) stops the load with a
  one-line :class:`~textattack_xmtc.errors.CheckpointError` naming
  ``module.name`` and the file, before the object it would build exists.

:func:`load_plain_pickle` reads a pickle of plain values (LibMultiLabel's
``word_dict.pickle``, a dict of str to int) with the same unpickler and no
stand-ins.

Usage::

    checkpoint = load_checkpoint("runs/EUR-Lex_attentionxml/model_1.ckpt")
    state = checkpoint["state_dict"]            # OrderedDict of tensors
    checkpoint["hyper_parameters"]["network"]   # StandIn('libmultilabel....AttentionXML_1')
    word_dict = load_plain_pickle("runs/EUR-Lex_attentionxml/word_dict.pickle")
"""
from __future__ import annotations

import _compat_pickle
import collections
import io
import os
import pickle
import warnings
from typing import Any, Callable, Dict, Tuple, Union

import torch

from ..errors import CheckpointError

PathLike = Union[str, os.PathLike]

#: Module prefixes whose classes are rebuilt as inert records (the pickled network object).
STAND_IN_MODULES = ("libmultilabel", "torch.nn.modules", "lightning", "pytorch_lightning", "lightning_fabric")


class Refused(pickle.UnpicklingError):
    """A pickle named a global outside the list; ``qualified_name`` is ``module.name``."""

    def __init__(self, qualified_name: str):
        super().__init__(qualified_name)
        self.qualified_name = qualified_name


class StandIn:
    """An inert record standing in for an object of a class that was not imported.

    Subclasses are made per class name (:func:`stand_in_class`); ``stand_in_for``
    is ``module.name``. Pickle's ways of building an object (calling the class,
    ``__new__``, ``__setstate__``, item and list appends) only store what they are given.

    Usage::

        record = checkpoint["hyper_parameters"]["network"]
        record.stand_in_for, sorted(record.state)   # ('libmultilabel....AttentionXML_1', ['_modules', ...])
    """

    stand_in_for = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> "StandIn":
        record = object.__new__(cls)
        record.args, record.kwargs, record.state, record.items, record.elements = args, kwargs, None, {}, []
        return record

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # everything was kept by __new__

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items[key] = value

    def append(self, value: Any) -> None:
        self.elements.append(value)

    def extend(self, values: Any) -> None:
        self.elements.extend(values)

    def __repr__(self) -> str:
        return f"StandIn({self.stand_in_for!r})"


_STAND_IN_CLASSES: Dict[str, type] = {}


def stand_in_class(qualified_name: str) -> type:
    """The :class:`StandIn` subclass for ``module.name`` (one per name, made on first use)."""
    klass = _STAND_IN_CLASSES.get(qualified_name)
    if klass is None:
        klass = type(qualified_name.rpartition(".")[2] or "StandIn", (StandIn,), {"stand_in_for": qualified_name})
        _STAND_IN_CLASSES[qualified_name] = klass
    return klass


def _is_stand_in(module: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in STAND_IN_MODULES)


# ---------------------------------------------------------------- the admitted globals


def _reconstructor(cls: Any, base: Any, state: Any = None) -> StandIn:
    # copyreg._reconstructor (protocols 0 and 1) for a stand-in class only: it would
    # otherwise call base.__new__ and base.__init__ of whatever classes it is given.
    if not (isinstance(cls, type) and issubclass(cls, StandIn)):
        raise Refused(f"copyreg._reconstructor of {getattr(cls, '__module__', '?')}."
                      f"{getattr(cls, '__qualname__', cls)!r}")
    return cls(state)


def _encode_latin1(text: Any, encoding: str = "utf-8") -> bytes:
    # What protocol 2 writes for bytes (numpy array data): _codecs.encode(str, "latin1").
    if not isinstance(text, str) or encoding.lower().replace("_", "-") not in ("latin1", "latin-1"):
        raise Refused(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin-1")


def _tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    # Backward hooks are dropped: a tensor read here is never differentiated through them.
    return torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
                                           collections.OrderedDict(), metadata)


def _parameter(data, requires_grad=False, backward_hooks=None, state=None):
    # _rebuild_parameter and _rebuild_parameter_with_state: a bare Parameter; the
    # state (attributes to set on it) and hooks of the pickled network are not needed.
    return torch.nn.Parameter(data, requires_grad)


def _admitted() -> Dict[Tuple[str, str], Any]:
    table: Dict[Tuple[str, str], Any] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
        ("builtins", "bytearray"): bytearray, ("builtins", "object"): object,
        ("copyreg", "_reconstructor"): _reconstructor,
        ("_codecs", "encode"): _encode_latin1,
        ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v2"): _tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _parameter,
        ("torch", "Size"): torch.Size, ("torch", "device"): torch.device,
    }
    try:
        import numpy

        # numpy's own array rebuilder, found without importing numpy.core (deprecated in numpy 2).
        reconstruct = numpy.zeros(0).__reduce__()[0]
        for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            table[(module, "_reconstruct")] = reconstruct
            table[(module, "scalar")] = _numpy_scalar
        table[("numpy", "ndarray")] = numpy.ndarray
        table[("numpy", "dtype")] = numpy.dtype
    except ImportError:  # pragma: no cover - numpy comes with torch here
        pass
    return table


def _numpy_scalar(dtype, data=None):
    import numpy

    if not isinstance(dtype, numpy.dtype) or dtype.hasobject or not isinstance(data, (bytes, bytearray)):
        raise Refused("numpy scalar of an object dtype")
    return numpy.frombuffer(bytes(data), dtype=dtype, count=1)[0]


_ADMITTED: Dict[Tuple[str, str], Any] = {}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only the globals listed in the module docstring.

    ``stand_ins=False`` refuses the stand-in classes too (a plain-values pickle).

    Usage::

        value = RestrictedUnpickler(open("word_dict.pickle", "rb"), stand_ins=False).load()
    """

    def __init__(self, file, *args: Any, stand_ins: bool = True, **kwargs: Any):
        super().__init__(file, *args, **kwargs)
        self.stand_ins = stand_ins

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 0-2 pickles name Python 2's modules (__builtin__.set, copy_reg._reconstructor):
        # map them as pickle's own find_class does, then look the result up.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if not _ADMITTED:
            _ADMITTED.update(_admitted())
        found = _ADMITTED.get((module, name))
        if found is not None:
            return found
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        if self.stand_ins and _is_stand_in(module):
            return stand_in_class(f"{module}.{name}")
        raise Refused(f"{module}.{name}")


class _PickleModule:
    """What ``torch.load(pickle_module=...)`` uses: ``Unpickler`` and ``load``."""

    __name__ = "textattack_xmtc.restricted_unpickling"
    Unpickler = RestrictedUnpickler

    @staticmethod
    def load(file, **kwargs: Any) -> Any:
        return RestrictedUnpickler(file, **kwargs).load()


def _refusal(path: PathLike, qualified_name: str, what: str) -> CheckpointError:
    return CheckpointError(f"{path}: refused to load: its pickle names {qualified_name}, which {what} does not "
                           f"need (only tensors, arrays and plain values are read); nothing in the file was run")


def load_checkpoint(path: PathLike, what: str = "a checkpoint") -> Any:
    """The object ``torch.save`` wrote to ``path`` (zip or legacy format), on the CPU, read restrictedly.

    Raises :class:`CheckpointError` naming ``path`` and the first refused
    ``module.name`` (nothing has run), or saying why the file is not a
    ``torch.save`` archive. ``what`` names the kind of file in messages.

    Usage::

        checkpoint = load_checkpoint("model_1.ckpt", what="a LibMultiLabel checkpoint")
    """
    try:
        with warnings.catch_warnings():
            # The legacy format asks for the source of each pickled module class to compare
            # it; a stand-in has none, and the comparison is not needed.
            warnings.filterwarnings("ignore", message="Couldn't retrieve source code for container")
            return torch.load(path, map_location="cpu", pickle_module=_PickleModule, weights_only=False)
    except Refused as refused:
        raise _refusal(path, refused.qualified_name, what) from None
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            KeyError, IndexError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise CheckpointError(f"{path}: missing") from None
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path}: not readable as {what} (a torch.save archive): {detail}") from None


def load_plain_pickle(path: PathLike, what: str = "a pickle of plain values") -> Any:
    """A pickle of plain values (dicts, lists, strings, numbers), refusing every class and function.

    Usage::

        word_dict = load_plain_pickle("word_dict.pickle", what="a LibMultiLabel word_dict.pickle")
    """
    try:
        with open(path, "rb") as file:
            return RestrictedUnpickler(io.BytesIO(file.read()), stand_ins=False).load()
    except Refused as refused:
        raise _refusal(path, refused.qualified_name, what) from None
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, KeyError, IndexError,
            OSError) as error:
        raise CheckpointError(f"{path}: not readable as {what}: {error}") from None


__all__ = ["RestrictedUnpickler", "Refused", "STAND_IN_MODULES", "StandIn", "load_checkpoint",
           "load_plain_pickle", "stand_in_class"]

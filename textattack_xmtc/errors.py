"""Errors for user mistakes: each message names the file (and line or tensor) at fault."""


class ModelLoadError(ValueError):
    """A MODEL could not be loaded: wrong layout, shapes or label list."""


class CheckpointError(ModelLoadError):
    """A checkpoint does not fit the architecture; the message names the file and tensor."""


class UnsupportedModelError(ModelLoadError):
    """A MODEL in a format this package recognises but cannot load yet (e.g. a FastAttentionXML label tree)."""

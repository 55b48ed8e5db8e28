"""A persistent XLA compilation cache for statmech's JAX kernels, switched on at first use.

JAX compiles every jitted function on its first call in a process (about 2 s
for a Monte Carlo driver on a CPU). With JAX's persistent compilation cache
the compiled programs are stored on disk and a later process loads them
instead of compiling again.

Nothing happens at ``import statmech``. The first time a statmech kernel is
set up (:func:`ensure_compile_cache`, called by the kernels' ``init`` and the
Monte Carlo drivers), and only then, statmech points JAX's cache at a user
cache directory and caches every compilation (not only those over JAX's
default threshold of 1 s):

* ``$STATMECH_COMPILE_CACHE`` when it is set to a path;
* else ``$XDG_CACHE_HOME/statmech/jax``, or ``~/.cache/statmech/jax``
  (``~/Library/Caches/statmech/jax`` on macOS, ``%LOCALAPPDATA%\\statmech\\jax``
  on Windows).

``STATMECH_COMPILE_CACHE=0`` (or ``off``, ``false``, ``no``) leaves JAX
alone. A cache directory the user has already configured
(``jax.config.update("jax_compilation_cache_dir", ...)`` or the
``JAX_COMPILATION_CACHE_DIR`` environment variable) wins: statmech then
changes nothing, and neither does it when ``jax_enable_compilation_cache`` is
False.
"""
from __future__ import annotations

import os
import sys
import threading
import warnings
from pathlib import Path

import jax
from jax._src import compilation_cache as _jax_compilation_cache

ENVIRONMENT_VARIABLE = "STATMECH_COMPILE_CACHE"
# Cache compilations that took at least this long (JAX's own default is 1 s,
# which would skip most of statmech's kernels).
MIN_COMPILE_SECONDS = 0.0
_OFF = {"0", "off", "false", "no", "none", "disable", "disabled"}
_ON = {"", "1", "on", "true", "yes", "default"}

_lock = threading.Lock()
_state: dict = {"done": False, "directory": None}


def default_cache_directory() -> Path:
    """The per-user cache directory for compiled kernels (without the environment override)."""
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "statmech" / "jax"


def cache_directory() -> Path | None:
    """Where compiled kernels go: ``$STATMECH_COMPILE_CACHE``, else the default; None when disabled."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if value.lower() in _OFF:
        return None
    if value.lower() in _ON:
        return default_cache_directory()
    return Path(value).expanduser()


def ensure_compile_cache() -> Path | None:
    """Switch JAX's persistent compilation cache on (once per process); return its directory.

    Returns None (and changes nothing) when it is disabled by
    ``STATMECH_COMPILE_CACHE=0``, when the user configured JAX's cache
    themselves, or when the directory cannot be created (a warning says so).
    Cheap after the first call.
    """
    if _state["done"]:
        return _state["directory"]
    with _lock:
        if _state["done"]:
            return _state["directory"]
        _state["directory"] = _switch_on()
        _state["done"] = True
    return _state["directory"]


def _switch_on() -> Path | None:
    directory = cache_directory()
    if directory is None:
        return None
    if jax.config.jax_compilation_cache_dir is not None or not jax.config.jax_enable_compilation_cache:
        return None  # the user's own configuration wins
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        warnings.warn(f"statmech: no persistent compile cache ({error}); set {ENVIRONMENT_VARIABLE} "
                      f"to a writable directory, or to 0 to silence this", RuntimeWarning, stacklevel=3)
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    if jax.config.jax_persistent_cache_min_compile_time_secs == 1.0:  # JAX's default, not the user's choice
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    # JAX decides once per process whether the cache is in use, at its first
    # compilation; if something compiled before this point it decided "no".
    cache = _jax_compilation_cache
    if getattr(cache, "_cache_checked", False) and not getattr(cache, "_cache_used", True):
        cache.reset_cache()
    return directory

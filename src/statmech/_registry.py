"""The method registry: every method statmech knows, by name and model type.

This module imports the implementations and collects the ``METHODS`` each one
exports; implementations never import it (nor the front doors in
``statmech.thermo``), so imports run one way:
``_types`` <- models <- implementations <- ``_registry`` <- ``thermo`` <- studies.

A new method goes in its own module with a module-level ``METHODS`` sequence
of :class:`~statmech._types.Method` and one line in ``_IMPLEMENTATIONS`` below.
"""
from __future__ import annotations

import difflib
import dis
import inspect

from statmech._types import Method
from statmech.estimators import _annealing, _integration, _mbar, _wang_landau
from statmech.estimators import _gibbs as _gibbs_estimators
from statmech.exact import _beale, _enumerate, _kaufman, _mean_field, _pfaffian, _transfer
from statmech.exact import _gibbs as _gibbs_exact
from statmech.exact import _tensor_network
from statmech.mc import _sampling
from statmech.approx import _methods as _approx_methods

_IMPLEMENTATIONS = (
    _kaufman, _transfer, _enumerate, _beale, _pfaffian, _mean_field,
    _sampling, _annealing, _integration, _mbar, _wang_landau,
    _tensor_network,
    _gibbs_exact, _gibbs_estimators,
    _approx_methods,
)

_REGISTRY: dict[str, list[Method]] = {}


def register_method(method: Method) -> Method:
    """Add ``method`` to the registry used by :func:`log_z` and :func:`thermo`.

    One name may have several implementations for different model types
    (``"ais"`` for Ising models and for Gibbs models over weights); the one
    whose ``model_types`` match the model is used. Registering the same name
    for the same model types again replaces the earlier entry.
    """
    entries = _REGISTRY.setdefault(method.name, [])
    entries[:] = [m for m in entries if m.model_types != method.model_types]
    entries.append(method)
    return method


def _matches(method: Method, model) -> bool:
    return not method.model_types or isinstance(model, method.model_types)


def registered_names() -> list[str]:
    """Every registered method name, sorted."""
    return sorted(_REGISTRY)


def all_methods() -> list[Method]:
    """Every registered :class:`Method` (each implementation of each name)."""
    return [method for entries in _REGISTRY.values() for method in entries]


def get_method(name: str, model=None) -> Method:
    """The registered :class:`Method` called ``name`` (for ``model``'s type when given)."""
    entries = _REGISTRY.get(name.lower(), [])
    if not entries:
        raise ValueError(f"unknown method {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    if model is None:
        return entries[0]
    for method in entries:
        if _matches(method, model):
            return method
    raise ValueError(f"method {name!r} does not apply to {type(model).__name__} models")


def available_methods(model=None, **options) -> list[str]:
    """Names of registered methods; with a model, only those that apply to it."""
    if model is None:
        return sorted(_REGISTRY)
    return sorted(name for name, entries in _REGISTRY.items()
                  if any(why_not(m, model, options) is None for m in entries))


def why_not(method: Method, model, options) -> str | None:
    if not _matches(method, model):
        return f"it does not apply to {type(model).__name__} models"
    return method.why_not(model, options)


def _cheapest(first: Method, later: list[Method], model, options) -> Method:
    """``first`` (the first applicable method by rank), or a later applicable one whose estimated
    cost is lower, where ``first`` has a cost estimate. A later method is asked ``why_not`` only
    when its estimate is lower, so no expensive check runs just to be outranked."""
    if first.cost is None:
        return first
    best, best_cost = first, first.cost(model, options)
    for candidate in later:
        if candidate.cost is None:
            continue
        estimate = candidate.cost(model, options)
        if estimate < best_cost and why_not(candidate, model, options) is None:
            best, best_cost = candidate, estimate
    return best


def resolve_method(model, method: str, options) -> Method:
    if not isinstance(method, str):
        raise TypeError(f"method must be a string such as 'auto' or 'enumerate', got {method!r}")
    name = method.lower()
    if name == "auto":
        candidates = sorted((m for entries in _REGISTRY.values() for m in entries
                             if m.exact and m.auto_rank is not None and _matches(m, model)),
                            key=lambda m: m.auto_rank)
        reasons = []
        for rank, candidate in enumerate(candidates):
            reason = why_not(candidate, model, options)
            if reason is None:
                return _cheapest(candidate, candidates[rank + 1:], model, options)
            reasons.append(f"{candidate.name}: {reason}")
        estimators = {m.name for entries in _REGISTRY.values() for m in entries
                      if not m.exact and why_not(m, model, options) is None}
        hint = (f"; estimators that apply: {', '.join(sorted(estimators))}" if estimators
                else "")
        raise ValueError(f"no exact method applies to {model!r} ({'; '.join(reasons)}){hint}")
    if name not in _REGISTRY:
        applicable = available_methods(model, **options)
        raise ValueError(
            f"unknown method {method!r}; methods that apply to {model!r}: "
            f"{', '.join(applicable) or 'none'} (or 'auto')"
        )
    matching = [m for m in _REGISTRY[name] if _matches(m, model)]
    chosen = matching[0] if matching else _REGISTRY[name][0]
    reason = why_not(chosen, model, options)
    if reason is not None:
        applicable = available_methods(model, **options)
        raise ValueError(
            f"method {name!r} does not apply to {model!r}: {reason}. "
            f"Methods that apply: {', '.join(applicable) or 'none'}"
        )
    check_options(chosen, options)
    return chosen



# ------------------------------------------------------------------ options
def unknown_option_message(method: str, key: str, accepted) -> str:
    """``method 'x' takes no option 'k'; did you mean 'n'? (its options: ...)``."""
    close = difflib.get_close_matches(key, accepted, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"method {method!r} takes no option {key!r}{hint} (its options: {', '.join(accepted) or 'none'})"


def check_options(method: Method, options) -> None:
    """Refuse, before any work, an option ``method`` does not take: a TypeError naming the valid ones.

    The accepted names are :func:`method_options`; where they cannot be
    determined, or a function checks its ``**options`` itself, the method decides.
    """
    accepted = method_options(method, own_checks_unknown=True)
    if accepted is None:
        return
    for key in options:
        if key not in accepted:
            raise TypeError(unknown_option_message(method.name, key, accepted))


_ARGUMENT_NAMES = ("model", "beta", "betas")


def method_options(method, own_checks_unknown: bool = False) -> tuple[str, ...] | None:
    """The option names a registered method accepts, sorted; None when they cannot be determined.

    A method may declare them (an ``options`` attribute). Otherwise they are
    read from its functions' signatures: the keyword parameters with a
    default. A function taking ``**options`` that forwards them (``f(...,
    **options)``) accepts what the functions it calls accept, followed
    through wrappers and closures; one that never uses them accepts none.
    Names starting with ``_`` and parameters without a default (which the
    wrapper itself supplies) are not options. With ``own_checks_unknown``,
    a function that takes ``**options`` without forwarding them (it checks
    them itself) makes the answer None.
    """
    declared = getattr(method, "options", None)
    if isinstance(declared, (tuple, list)) and all(isinstance(name, str) for name in declared):
        return tuple(sorted(declared))
    functions = [f for f in (method.moments, method.thermo_fn, method.log_z_fn, method.log_z_moments) if f]
    if not functions:
        return None
    names: set[str] = set()
    for function in functions:
        found = _function_options(function, 0, own_checks_unknown)
        if found is None:
            return None
        names |= found
    return tuple(sorted(names))


def _function_options(function, depth: int, own_checks_unknown: bool = False) -> set[str] | None:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return None
    names = {p.name for p in parameters
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
             and p.default is not inspect.Parameter.empty and not p.name.startswith("_")
             and p.name not in _ARGUMENT_NAMES}
    var_keyword = [p.name for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD]
    if not var_keyword:
        return names
    code = getattr(inspect.unwrap(function), "__code__", None)
    if code is None or depth > 4:
        return None
    closure = dict(zip(code.co_freevars, (cell.cell_contents for cell in (function.__closure__ or ()))))
    callees = []
    outermost = None  # the first function loaded in the current statement: the call's callee
    previous = None
    for instruction in dis.get_instructions(code):
        name = instruction.opname
        if name.startswith(("STORE_", "POP_TOP", "RETURN_", "RESUME", "JUMP", "POP_JUMP")):
            outermost = None
        elif name in ("LOAD_GLOBAL", "LOAD_DEREF"):
            value = (function.__globals__.get(instruction.argval) if name == "LOAD_GLOBAL"
                     else closure.get(instruction.argval))
            if outermost is None and inspect.isfunction(value):
                outermost = value
        elif name in ("DICT_MERGE", "DICT_UPDATE", "CALL_FUNCTION_EX") and previous is not None \
                and previous.opname.startswith("LOAD_FAST") and previous.argval == var_keyword[0]:
            # ``callee(..., **options)``: the options go to the callee (passed as a plain
            # argument, e.g. to a validator, they do not)
            if outermost is None or not outermost.__module__.startswith("statmech"):
                return None
            if outermost not in callees:
                callees.append(outermost)
        previous = instruction
    if not callees:
        # **options never forwarded: checked (or refused) by the function itself
        return None if own_checks_unknown else names
    for callee in callees:
        found = _function_options(callee, depth + 1, own_checks_unknown)
        if found is None:
            return None
        names |= found
    return names


for _module in _IMPLEMENTATIONS:
    for _method in _module.METHODS:
        register_method(_method)

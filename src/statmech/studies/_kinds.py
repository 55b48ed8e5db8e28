"""The kinds of study a result store can hold, read from its spec without importing the study's code."""
from __future__ import annotations

TOUR_KIND = "tour"
"""``spec["model"]["kind"]`` of a tour store (``statmech tour``)."""


def is_tour_store(info: dict) -> bool:
    """Whether a store's ``study_info()`` is that of a tour."""
    return info["spec"].get("model", {}).get("kind") == TOUR_KIND

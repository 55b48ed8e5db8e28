"""Every ```python block in README.md and docs/ runs (blocks of one page share a namespace), and prints what
the page says it prints.

A fenced ```text block right after a python block (only blank lines, or a tolerance comment, between) is
that block's printed output, as the page claims it. The test compares the claim with what the block
actually prints: the words must match (whitespace aside) and every number must agree within half a unit
of its last printed digit, or within a relative 1e-6 or an absolute 1e-12 (float64 rounding), whichever
is larger. A comment
``<!-- output: rel=0.05 -->`` (or ``abs=...``) between the blocks loosens that for one block (e.g. a
sampled value). Numbers quoted in the prose should be the ones of such a block.
"""
from __future__ import annotations

import contextlib
import io
import math
import pathlib
import re
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```[ \t]*\n"
                   r"(?:(?:[ \t]*\n|[ \t]*<!-- output:(?P<tolerance>[^>]*)-->[ \t]*\n)*"
                   r"^\1```text\n(?P<output>.*?)^\1```)?", re.DOTALL | re.MULTILINE)
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\binf\b|\bnan\b")


def parse_tolerance(text: str | None) -> dict[str, float]:
    """``" rel=0.05 abs=1e-3 "`` → {"rel": 0.05, "abs": 0.001}."""
    tolerance = {"rel": 1e-6, "abs": 1e-12}
    for item in (text or "").split():
        key, _, value = item.partition("=")
        if key not in tolerance:
            raise ValueError(f"unknown tolerance {item!r} in an output comment; use rel=... or abs=...")
        tolerance[key] = float(value)
    return tolerance


def _half_unit(token: str) -> float:
    """Half a unit in the last printed digit of ``token`` (0.005 for 8229.04, 0.5e-3 for 1.2e-3... )."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2]) if "." in mantissa else 0
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def output_mismatch(expected: str, actual: str, tolerance: dict[str, float]) -> str | None:
    """None when ``actual`` prints what ``expected`` claims, else a one-line reason."""
    words = [NUMBER.sub("#", line).split() for line in (expected.strip(), actual.strip())]
    if words[0] != words[1]:
        return f"the words differ:\n--- the page claims ---\n{expected.strip()}\n--- it prints ---\n{actual.strip()}"
    claimed, printed = NUMBER.findall(expected), NUMBER.findall(actual)
    for claim, value in zip(claimed, printed):
        a, b = float(claim), float(value)
        if math.isnan(a) or math.isinf(a):
            if not (math.isnan(a) and math.isnan(b)) and a != b:
                return f"the page claims {claim}, it prints {value}"
            continue
        allowed = max(_half_unit(claim) * (1 + 1e-9), tolerance["rel"] * abs(a), tolerance["abs"])
        if not abs(a - b) <= allowed:
            return (f"the page claims {claim}, it prints {value} (allowed difference {allowed:.3g})\n"
                    f"--- the page claims ---\n{expected.strip()}\n--- it prints ---\n{actual.strip()}")
    return None


def run_page(text: str, name: str) -> list[str]:
    """Run the python blocks of a page in one namespace; return a message per output claim that fails."""
    namespace: dict = {}
    failures = []
    for number, match in enumerate(BLOCK.finditer(text)):
        block = textwrap.dedent(match.group(2))
        code = compile(block, f"{name}[block {number}]", "exec")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)  # noqa: S102 - the docs are ours
        if match.group("output") is not None:
            expected = textwrap.dedent(match.group("output"))
            reason = output_mismatch(expected, printed.getvalue(), parse_tolerance(match.group("tolerance")))
            if reason:
                failures.append(f"{name}[block {number}]: {reason}")
    return failures


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_examples_run_and_print_what_the_page_claims(page):
    failures = run_page(page.read_text(), page.name)
    assert not failures, "\n\n".join(failures)


WRONG_CLAIM = '''
```python
import math
print(round(math.exp(1), 4), "is e")
```

```text
{claim} is e
```
'''


@pytest.mark.parametrize("claim, right", [("2.7183", True), ("2.718", True), ("2.72", True), ("2.7", True),
                                          ("2.7182", False), ("2.8", False), ("3", True), ("2", False)])
def test_a_wrong_printed_claim_fails_the_docs_test(claim, right):
    """Negative control: a claim that is not what the block prints is caught; a rounding of it is not."""
    failures = run_page(WRONG_CLAIM.format(claim=claim), "page.md")
    assert (not failures) is right, failures


def test_a_claim_with_other_words_or_a_loosened_tolerance():
    page = WRONG_CLAIM.format(claim="2.7183 is pi")
    assert "words differ" in run_page(page, "page.md")[0]
    loose = WRONG_CLAIM.replace("```\n\n```text", "```\n<!-- output: rel=0.05 -->\n```text").format(claim="2.8")
    assert run_page(loose, "page.md") == []
    assert run_page(loose.replace("rel=0.05", "rel=0.01"), "page.md")

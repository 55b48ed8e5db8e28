"""Every ```python block in README.md and docs/ runs (blocks of one page share a namespace)."""
import pathlib
import re
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_examples_run(page):
    blocks = BLOCK.findall(page.read_text())
    namespace: dict = {}
    for number, (indent, block) in enumerate(blocks):
        block = textwrap.dedent(block)
        code = compile(block, f"{page.name}[block {number}]", "exec")
        exec(code, namespace)  # noqa: S102 - the docs are ours

"""The GUI's functions page in Debian's Chromium (Playwright): a form built from a function's schema calls it and
shows the result, and a failing call shows the remote error."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

MODULE = '''
def scale(values: list, factor: float = 2.0, label: str = "x", loud: bool = False) -> dict:
    """Scale some values."""
    return {"label": label.upper() if loud else label, "values": [v * factor for v in values]}


def refuse(reason: str, code: int) -> None:
    raise PermissionError(f"{reason} ({code})")
'''


def test_a_function_is_called_from_its_form(cc_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            serve: Callable[..., Any], page: Any) -> None:
    from playwright.sync_api import expect

    (tmp_path / "page_models.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    (cc_home / "config.yaml").write_text(textwrap.dedent("""
        functions: [page_models:scale, page_models:refuse]
    """))
    try:
        server = serve()
        page.goto(f"{server.url}/")
        page.locator('header.top a[href="/functions"]').click()   # the main page's header links to the functions
        page.wait_for_url(f"{server.url}/functions")
        scale = page.locator('.function[data-function="scale"]')
        expect(scale.locator("h2")).to_contain_text("page_models:scale on local")
        scale.locator('textarea[name="values"]').fill("[1, 2.5]")
        scale.locator('input[name="factor"]').fill("4")
        scale.locator('input[name="label"]').fill("sizes")
        scale.locator('input[name="loud"]').check()
        scale.locator("button").click()
        expect(scale.locator(".outcome")).to_contain_text('result: {"label":"SIZES","values":[4,10]}',
                                                          timeout=60_000)
        refuse = page.locator('.function[data-function="refuse"]')
        refuse.locator('input[name="reason"]').fill("not today")
        refuse.locator("button").click()
        expect(refuse.locator(".outcome")).to_contain_text("code: Field required", timeout=10_000)   # the 422
        refuse.locator('input[name="code"]').fill("7")
        refuse.locator("button").click()
        expect(refuse.locator(".outcome")).to_contain_text("PermissionError: not today (7)", timeout=60_000)
    finally:
        sys.modules.pop("page_models", None)

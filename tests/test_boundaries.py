"""Architecture rules: the core finds adapters through the registry, never by import."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLATFORM_MODULES = {"syndicator.adapters.telegram", "syndicator.adapters.twitter",
                    "syndicator.adapters.facebook", "syndicator.adapters.whatsapp",
                    "telegram", "tweepy", "facebook"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_never_imports_a_platform_module() -> None:
    # The sandbox holds the wire fakes of each platform: it may use their parsers.
    core = [p for p in (REPO / "syndicator").rglob("*.py")
            if "sandbox" not in p.parts and "adapters" not in p.parts]
    offenders = {str(p.relative_to(REPO)): sorted(
        m for m in imports(p) if m in PLATFORM_MODULES or m.startswith(tuple(
            f"{x}." for x in PLATFORM_MODULES)))
        for p in core}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_adapters_import_only_core_value_types_and_errors() -> None:
    allowed = {"syndicator.clock", "syndicator.config", "syndicator.errors", "syndicator.model",
               "syndicator.secrets", "syndicator.text"}
    for path in (REPO / "adapters").glob("*.py"):
        ours = {m for m in imports(path)
                if m.startswith("syndicator") and not m.startswith("syndicator.adapters")}
        extra = {m for m in ours if not any(m == a or m.startswith(a + ".") for a in allowed)}
        assert not extra, f"{path.name} imports {sorted(extra)}"

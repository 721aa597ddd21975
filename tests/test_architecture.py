"""The code's shape (CONTRIBUTING.md): packages that name the steps, imports that go one
way, no cycles, modules of a few hundred lines, pages that import only ``ui``.

Read from the source with ``ast`` (imports at module level and inside functions alike).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400

#: Packages from the highest to the lowest: a module may import its own package and any
#: package below it, never one above.
PIPELINE_LAYERS = [
    ["pipeline.cli", "pipeline.bench", "pipeline.__main__"],
    ["pipeline.review"],
    ["pipeline.engines"],
    ["pipeline.naming"],
    ["pipeline.fit"],
    ["pipeline.embed", "pipeline.ingest"],
    ["pipeline.mapdir"],
    ["pipeline.config"],
    ["pipeline.errors"],
]
UI_LAYERS = [["ui.app"], ["ui.figures"], ["ui.core"]]
#: ``pipeline``'s public API (its ``__init__``) re-exports from below: it sits on top.
API = "pipeline"


def modules(*folders: str) -> dict[str, Path]:
    out = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imported(name: str, path: Path) -> set[str]:
    """Every project module ``name`` (at ``path``) imports, anywhere in its body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in ("pipeline", "ui")}


def resolve(target: str, known: dict[str, Path]) -> str | None:
    """The known module a dotted import names (``a.b.c`` -> ``a.b`` when c is a name)."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def graph() -> dict[str, set[str]]:
    known = modules("pipeline", "ui")
    return {name: {m for t in imported(name, path) if (m := resolve(t, known)) and m != name}
            for name, path in known.items()}


def rank(name: str, layers: list[list[str]]) -> int | None:
    for position, group in enumerate(layers):
        if any(name == p or name.startswith(p + ".") for p in group):
            return position
    return None


def test_no_import_cycles():
    edges = graph()
    # A package's __init__ importing its own modules is not a cycle of code.
    edges = {a: {b for b in bs if not (a and b.startswith(a + "."))} for a, bs in edges.items()}
    seen: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if seen.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt] if nxt in stack else [node, nxt])
            elif nxt not in seen:
                visit(nxt, [*stack, nxt])
        seen[node] = 2

    for node in sorted(edges):
        if node not in seen:
            visit(node, [node])
    assert cycles == []


def test_imports_go_from_higher_packages_to_lower_ones():
    upward = []
    for name, targets in graph().items():
        for layers in (PIPELINE_LAYERS, UI_LAYERS):
            mine = rank(name, layers)
            if mine is None:
                continue
            for target in targets:
                theirs = rank(target, layers)
                if theirs is not None and theirs < mine:
                    upward.append(f"{name} -> {target}")
        if name.startswith("pipeline") and any(t.startswith("ui") for t in targets):
            upward.append(f"{name} -> ui")
        if name.startswith("ui.core") and any(t.startswith("ui.app") for t in targets):
            upward.append(f"{name} -> ui.app")
    assert upward == []


def test_every_pipeline_module_has_a_place_in_the_layers():
    unplaced = [name for name in modules("pipeline")
                if name != API and rank(name, PIPELINE_LAYERS) is None]
    assert unplaced == []


def test_plain_ui_parts_do_not_import_streamlit():
    offenders = []
    for name, path in modules("ui").items():
        if name.startswith(("ui.core", "ui.figures")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                if any(n.split(".")[0] == "streamlit" for n in names):
                    offenders.append(name)
    assert offenders == []


def test_pages_and_the_entry_import_only_ui():
    offenders = []
    for path in [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for target in imported(path.stem, path):
            if not target.startswith("ui"):
                offenders.append(f"{path.name} -> {target}")
    assert offenders == []


def test_no_module_is_over_400_lines():
    long = {str(path.relative_to(ROOT)): n for path in
            [*modules("pipeline", "ui").values(), ROOT / "dashboard.py",
             *(ROOT / "pages").glob("*.py")]
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_step_of_the_recipe_has_a_place():
    """Each step of ``STEPS`` is a package or module of that name, or the README's recipe
    table says where it is."""
    from pipeline.engines.recipe import STEPS

    names = {p.stem for p in (ROOT / "pipeline").rglob("*.py")} | \
        {p.name for p in (ROOT / "pipeline").rglob("*") if p.is_dir()}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| step |"):]
    table = table[:table.index("\n\n")]
    missing = [step for step in STEPS if step not in names and f"| {step} |" not in table]
    assert missing == []


def test_the_top_level_of_pipeline_is_about_a_dozen_entries():
    entries = [p.name for p in (ROOT / "pipeline").iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 13, sorted(entries)

"""The layers hold: every import in playground/ is read (ast, nothing is run) and checked against
the layer picture of docs/architecture.md, and the core is imported where Streamlit, plotly,
pandas and torchvision are missing, as on a training machine."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "playground"

SCREEN_LIBRARIES = ("streamlit", "plotly")
"""Only the screen layers (ui/, figures/ and Home.py) may import these."""
TRAINING_MACHINE_LACKS = (*SCREEN_LIBRARIES, "pandas", "torchvision")
"""A GPU training machine has torch, numpy and safetensors, not these."""

RANKS = {
    "playground": 0,
    "playground.settings": 0,
    "playground.seeds": 0,
    "playground.pixels": 0,
    "playground.history": 0,
    "playground.checkpoints": 0,
    "playground.losses": 0,
    "playground.tricks": 0,
    "playground.models": 0,
    "playground.data": 1,
    "playground.gan": 2,
    "playground.toy": 3,
    "playground.plane": 3,
    "playground.metrics": 3,
    "playground.failures": 4,
    "playground.train": 4,
    "playground.shipped": 5,
    "playground.jobs": 5,
    "playground.figures": 7,
    "playground.ui": 8,
    "playground.Home": 9,
}
"""Each layer's height, bottom (0) to top: a module imports only from its own height or below.
Core modules not named here (a new one) sit at 6, above the named core and below figures."""
NEW_CORE_MODULE = 6

NEVER = [
    ("playground.train", "playground.ui", "the core knows no screen"),
    ("playground.toy", "playground.ui", "the core knows no screen"),
    ("playground.jobs", "playground.ui", "jobs run without Streamlit"),
    ("playground.gan", "playground.train", "the step API is below every trainer"),
    ("playground.gan", "playground.toy", "the step API is below every trainer"),
    ("playground.models", "playground.train", "models know nothing of training"),
    ("playground.figures", "playground.jobs", "figures are pure"),
    ("playground.figures", "playground.ui", "figures are pure"),
    ("playground.losses", "playground.models", "losses are pure maths"),
]
"""(importer, imported, why): pairs of the whiteboard that must never meet."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, frozenset[str]]:
    """Every module of the package and the modules it imports (anywhere in its body)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        found[module_name(path)] = frozenset(imported)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def is_screen(name: str) -> bool:
    return any(within(name, p) for p in ("playground.ui", "playground.figures", "playground.Home"))


def rank(name: str) -> int:
    """The height of the layer `name` belongs to (its longest prefix in RANKS)."""
    prefixes = [p for p in RANKS if within(name, p)]
    if name != "playground" and prefixes == ["playground"]:
        return NEW_CORE_MODULE
    return RANKS[max(prefixes, key=len)]


def package_imports(name: str) -> set[str]:
    """The playground modules `name` imports (an imported name counts when it is a module;
    `from playground import x` imports x, not the package)."""
    return {i for i in modules()[name] if i in modules() and i not in (name, "playground")}


def test_the_walk_sees_the_whole_package() -> None:
    names = modules()
    assert {"playground.gan", "playground.train.cli", "playground.jobs.manager"} <= set(names)
    assert "playground.jobs.store" in package_imports("playground.jobs.manager")


def test_figures_import_neither_the_jobs_nor_the_ui() -> None:
    for name, imported in modules().items():
        if within(name, "playground.figures"):
            bad = [
                i for i in imported if within(i, "playground.jobs") or within(i, "playground.ui")
            ]
            assert not bad, f"{name} imports {bad}"


def test_only_the_screen_layers_import_streamlit_or_plotly() -> None:
    for name, imported in modules().items():
        if not is_screen(name):
            bad = [i for i in imported if i.split(".")[0] in SCREEN_LIBRARIES]
            assert not bad, f"{name} is core and imports {bad}"


def test_the_ui_holds_no_torch_model_code() -> None:
    for name, imported in modules().items():
        if within(name, "playground.ui") or name == "playground.Home":
            bad = [i for i in imported if i.split(".")[0] == "torch" or "playground.models" in i]
            assert not bad, f"{name} imports {bad}: models belong to the core"


def test_nothing_imports_upward() -> None:
    for name in modules():
        for imported in package_imports(name):
            assert rank(imported) <= rank(name), f"{name} (layer {rank(name)}) imports {imported}"


@pytest.mark.parametrize(("importer", "imported", "why"), NEVER)
def test_pairs_that_must_never_meet(importer: str, imported: str, why: str) -> None:
    for name in modules():
        if within(name, importer):
            bad = [i for i in package_imports(name) if within(i, imported)]
            assert not bad, f"{name} imports {bad}: {why}"


def test_the_core_imports_on_a_training_machine() -> None:
    """Every core module imports with Streamlit, plotly, pandas and torchvision missing."""
    core = sorted(
        name for name in modules() if not is_screen(name) and not name.endswith("__main__")
    )
    script = (
        "import importlib, sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {TRAINING_MACHINE_LACKS!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, Missing())\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


MAX_MODULE_LINES = 520
MAX_FUNCTION_LINES = 55
"""One concept per module (about 500 lines at most) and short functions (about 50)."""


def test_modules_and_functions_stay_small() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path.name}: split it by concept"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= MAX_FUNCTION_LINES, f"{path.name}: {node.name} is {length} lines"


def test_no_top_level_module_shadows_the_standard_library() -> None:
    """`streamlit run playground/Home.py` puts playground/ itself on sys.path, and so do the job
    workers it starts: a playground/numbers.py would be imported as the standard `numbers`."""
    clashes = sorted(
        path.name
        for path in PACKAGE.glob("*.py")
        if path.stem in sys.stdlib_module_names or path.stem in {"streamlit", "torch", "numpy"}
    )
    assert not clashes, f"rename {clashes}: they hide modules of the same name"

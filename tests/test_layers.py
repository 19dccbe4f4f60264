"""The tree shows the pipeline (issue 15): each folder of `auditor/` is a layer that imports only the layers
below it — cli → fleet → report → collect | history → evaluate → model — checked by import-linter's
contract in pyproject.toml, and no module imports itself back through others, lazy imports included."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def test_lint_imports_keeps_the_layers_contract() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "import-linter is a test dependency"
    run = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "1 kept, 0 broken" in run.stdout


def test_no_import_cycle_anywhere_lazy_imports_included() -> None:
    graph = grimp.build_graph("auditor", include_external_packages=False)
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported != module and graph.find_shortest_chain(importer=imported, imported=module):
                cycles.append(f"{module} ⇄ {imported}")
    # A package's __init__ importing its own submodules is not a cycle between layers' modules.
    cycles = [c for c in cycles if not any(side.endswith("__init__") for side in c.split(" ⇄ "))]
    assert cycles == []

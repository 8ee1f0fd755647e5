"""Import direction (design.md): troubleshooting reaches the MFA service only through the
port, and never imports the simulator."""

import ast
from pathlib import Path

import troubleshooting

PACKAGE = Path(troubleshooting.__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


# simulate_case is where the simulator's scenario loader and automated caller meet the
# guided-session services: the one composition root allowed to import both sides.
COMPOSITION_ROOTS = {
    "management/commands/simulate_case.py",
    "management/commands/corpus_report.py",
}


def test_troubleshooting_never_imports_the_simulator():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "authsim"
        )
        for path in PACKAGE.rglob("*.py")
        if str(path.relative_to(PACKAGE)) not in COMPOSITION_ROOTS
    }

    assert {path: names for path, names in offenders.items() if names} == {}

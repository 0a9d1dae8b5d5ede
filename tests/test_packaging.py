"""Layout guards: every code folder installed under `occreid.`; the core never imports mmcv."""

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = {v: k for k, v in config["package-dir"].items()}
    folders = {
        str(p.parent.relative_to(REPO))
        for p in REPO.glob("**/__init__.py")
        if not {".venv", "tests", "build"} & set(p.relative_to(REPO).parts)
    }
    expected = {
        mapped.get(f.split("/")[0], "?") + "".join("." + x for x in f.split("/")[1:])
        for f in folders
    }
    assert "?" not in {e.split(".")[0] for e in expected}, folders
    assert expected == set(config["packages"])


def test_core_imports_leave_mmcv_and_bare_names_out(tmp_path: Path) -> None:
    code = (
        "import sys, importlib.util\n"
        "import occreid.cli.main, occreid.occdata.build, occreid.occdata.synth\n"
        "assert 'mmcv' not in sys.modules and 'mmpose' not in sys.modules, 'mm imported'\n"
        "assert 'torch' not in sys.modules, 'torch imported by the dataset side'\n"
        "assert 'fastapi' not in sys.modules, 'the web app imported by the CLI'\n"
        "for bare in ('model', 'cli', 'occdata', 'engine', 'pseudolabel', 'review', 'manifests'):\n"
        "    assert importlib.util.find_spec(bare) is None, bare\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_manifests_ship_the_exclusion_template() -> None:
    from importlib.resources import files

    text = files("occreid.manifests").joinpath("exclude_template.txt").read_text()
    assert "494" in text
    assert all(not line.strip() or line.startswith("#") for line in text.splitlines())


# Data flows one way: each folder may import its own modules and the folders below it.
LAYERS = {
    "common": set(),
    "model": {"common"},
    "occdata": {"common"},
    "pseudolabel": {"common", "occdata"},
    "engine": {"common", "occdata", "pseudolabel", "model", "configs"},
    "review": {"common", "occdata", "pseudolabel"},
    "cli": {"common", "occdata", "pseudolabel", "engine", "model", "configs", "review"},
}


def _occreid_imports(path: Path) -> set[str]:
    """The occreid folders a module imports (top level, in functions, under TYPE_CHECKING)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "occreid" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_imports_flow_one_way() -> None:
    wrong = []
    for folder, allowed in LAYERS.items():
        modules = sorted((REPO / folder).rglob("*.py"))
        assert modules, folder
        for path in modules:
            for target in _occreid_imports(path) - allowed - {folder}:
                wrong.append(f"{path.relative_to(REPO)} imports occreid.{target}")
    assert wrong == []


def test_the_layer_check_sees_a_wrong_way_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from occreid.engine.train import train\n")
    assert _occreid_imports(module) == {"engine"}

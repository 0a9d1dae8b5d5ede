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


def test_the_labelling_benchmark_leaves_torch_out_of_its_labelling_processes(
    tmp_path: Path,
) -> None:
    """A spawned labelling process re-imports the main script as __mp_main__: a torch imported
    at its top would cost every process seconds and hundreds of MB, and skew the frames/s."""
    code = (
        "import runpy, sys\n"
        f"sys.path.insert(0, {str(REPO / 'benchmarks')!r})\n"
        f"runpy.run_path({str(REPO / 'benchmarks' / 'pseudolabel_speed.py')!r}, "
        "run_name='__mp_main__')\n"
        "assert 'torch' not in sys.modules, 'torch imported by the benchmark module'\n"
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


def _imported_modules(path: Path) -> set[str]:
    """The occreid modules a module imports (top level, in functions, under TYPE_CHECKING),
    named without ``occreid.``: ``from occreid.x import y`` gives ``x`` and ``x.y``."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n.removeprefix("occreid.") for n in names if n.startswith("occreid.")}
    return found


def _occreid_imports(path: Path) -> set[str]:
    """The occreid folders a module imports."""
    return {name.split(".")[0] for name in _imported_modules(path)}


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


def _import_cycle(root: Path, folders: list[str]) -> list[str]:
    """One import cycle among the modules of ``folders`` under ``root`` (dotted names, the first
    repeated at the end), or [] where imports between modules run one way. A package's
    ``__init__`` is its own module; importing a submodule does not count as importing it."""
    from graphlib import CycleError, TopologicalSorter

    modules = {}
    for folder in folders:
        for path in (root / folder).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {name: _imported_modules(path) & modules.keys() for name, path in modules.items()}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as err:
        return list(err.args[1])
    return []


def test_modules_import_each_other_one_way() -> None:
    assert _import_cycle(REPO, list(LAYERS)) == []


def test_the_cycle_check_sees_modules_that_import_each_other(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "a.py").write_text("from occreid.engine.b import f\n")
    (tmp_path / "engine" / "b.py").write_text("def f():\n    from occreid.engine import a\n")
    (tmp_path / "engine" / "c.py").write_text("import occreid.engine.a\n")
    assert sorted(set(_import_cycle(tmp_path, ["engine"]))) == ["engine.a", "engine.b"]

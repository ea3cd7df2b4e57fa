"""requirements.txt and environment.yml install the same pinned versions.

pip users install requirements.txt, conda users environment.yml. Both must
name the same packages at the same versions, or the two groups of learners
would run different code and see different outputs.
"""

import importlib.metadata
import re

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from cnn_lesson.paths import PROJECT_ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: read the installed metadata instead
    tomllib = None

REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
ENVIRONMENT = PROJECT_ROOT / "environment.yml"
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
# conda-forge name -> PyPI name, where the two differ.
CONDA_TO_PIP = {}
# Entries of environment.yml that are no pinned package of requirements.txt.
CONDA_ONLY = {"python", "pip"}
PROJECT = "-e ."


def _pip_lines(lines):
    """Requirement lines: comments, blank lines and pip options left out."""
    for line in lines:
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#") and line != PROJECT:
            yield line


def _pins(requirements):
    """{(name, marker): version} for ==-pinned requirement strings."""
    pins = {}
    for text in requirements:
        requirement = Requirement(text)
        (spec,) = requirement.specifier  # exactly one specifier
        assert spec.operator == "==", f"{text!r} is not pinned with =="
        key = (canonicalize_name(requirement.name), str(requirement.marker or ""))
        assert key not in pins, f"{text!r} is listed twice"
        pins[key] = Version(spec.version)
    return pins


CONDA_PIN = re.compile(r"([A-Za-z0-9_.\-]+)\s*==?\s*([0-9][0-9A-Za-z.+!_\-]*)")


def _conda_name(entry: str) -> str:
    return re.match(r"[A-Za-z0-9_.\-]+", entry.strip()).group()


def _conda_pin(entry: str):
    """(name, version) of a conda entry such as ``numpy=2.4.6`` or ``numpy==2.4.6``."""
    match = CONDA_PIN.fullmatch(entry.strip())
    assert match, f"environment.yml: {entry!r} is not pinned to one version"
    return match.groups()


def _environment():
    return yaml.safe_load(ENVIRONMENT.read_text())


def _environment_parts():
    """(conda entries, pip entries) of environment.yml's dependencies."""
    conda, pip = [], []
    for entry in _environment()["dependencies"]:
        if isinstance(entry, dict):
            assert set(entry) == {"pip"}, entry
            pip += entry["pip"]
        else:
            conda.append(entry)
    return conda, pip


def requirements_pins():
    return _pins(_pip_lines(REQUIREMENTS.read_text().splitlines()))


def environment_pins():
    conda, pip = _environment_parts()
    pins = _pins(_pip_lines(pip))
    for entry in conda:
        if _conda_name(entry) in CONDA_ONLY:
            continue
        name, version = _conda_pin(entry)
        key = (canonicalize_name(CONDA_TO_PIP.get(name, name)), "")
        assert key not in pins, f"environment.yml lists {name} twice"
        pins[key] = Version(version)
    return pins


def _label(key):
    name, marker = key
    return f"{name}; {marker}" if marker else name


def test_both_files_pin_the_same_packages_at_the_same_versions():
    pip, conda = requirements_pins(), environment_pins()
    only_pip = sorted(_label(k) for k in pip.keys() - conda.keys())
    only_conda = sorted(_label(k) for k in conda.keys() - pip.keys())
    differ = {
        _label(key): (str(pip[key]), str(conda[key]))
        for key in pip.keys() & conda.keys()
        if pip[key] != conda[key]
    }
    assert not only_pip, f"pinned in requirements.txt only: {only_pip}"
    assert not only_conda, f"pinned in environment.yml only: {only_conda}"
    assert not differ, f"(requirements.txt, environment.yml) versions differ: {differ}"


def test_the_lesson_packages_are_pinned():
    names = {name for name, _ in requirements_pins()}
    for name in ("keras", "numpy", "matplotlib", "pandas", "jupytext", "nbval"):
        assert name in names
    assert names & {"tensorflow", "tensorflow-cpu"}


def test_environment_yml_installs_the_project_itself():
    _, pip = _environment_parts()
    assert PROJECT in [entry.strip() for entry in pip]


def test_environment_yml_python_satisfies_the_project():
    conda, _ = _environment_parts()
    versions = [_conda_pin(e)[1] for e in conda if _conda_name(e) == "python"]
    assert len(versions) == 1, "environment.yml should pin python once"
    if tomllib is None:
        requires = importlib.metadata.metadata("cnn-lesson")["Requires-Python"]
    else:
        requires = tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"]
    assert Version(versions[0]) in SpecifierSet(requires), (versions[0], requires)


def test_tensorflow_and_keras_come_from_pip_in_the_conda_environment():
    conda, pip = _environment_parts()
    conda_names = {_conda_name(entry) for entry in conda}
    pip_names = {Requirement(line).name for line in _pip_lines(pip)}
    assert not conda_names & {"tensorflow", "tensorflow-cpu", "keras"}
    assert "keras" in pip_names


@pytest.mark.parametrize(
    ("entry", "expected"),
    [("numpy=2.4.6", ("numpy", "2.4.6")), ("numpy==2.4.6", ("numpy", "2.4.6"))],
)
def test_a_conda_pin_is_read_with_one_or_two_equals_signs(entry, expected):
    assert _conda_pin(entry) == expected


def test_a_range_instead_of_a_pin_is_refused():
    with pytest.raises(AssertionError, match="not pinned"):
        _conda_pin("numpy>=2")
    with pytest.raises(AssertionError, match="not pinned"):
        _pins(["numpy>=2"])

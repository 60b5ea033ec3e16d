"""The Dockerfile, checked outside Docker (no registry is reachable here, so the image cannot be built).

The image is simulated from the Dockerfile itself: `pip install .` becomes a
site directory holding exactly the packages pyproject.toml declares, and the
app directory holds exactly what the COPY instructions put under the final
WORKDIR. The Dockerfile's own CMD is started there (127.0.0.1 and a free port
instead of 0.0.0.0:8501) and its own HEALTHCHECK command is run against it.
"""
from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
PORT = "8501"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    workdir: str  # the WORKDIR in force


def parse_dockerfile(path: Path = DOCKERFILE) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    workdir = "/"
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "WORKDIR":
            workdir = str(PurePosixPath(workdir) / args)
        out.append(Instruction(keyword, args, workdir))
    return out


def command_of(args: str) -> list[str]:
    """A CMD/HEALTHCHECK CMD in exec (JSON) form, or shell form run by /bin/sh -c."""
    args = args.strip()
    if args.startswith("["):
        return json.loads(args)
    return ["/bin/sh", "-c", args]


def only(keyword: str) -> Instruction:
    found = [i for i in parse_dockerfile() if i.keyword == keyword]
    assert found, f"the Dockerfile has no {keyword}"
    return found[-1]  # Docker uses the last one


def cmd() -> list[str]:
    return command_of(only("CMD").args)


def healthcheck() -> list[str]:
    args = only("HEALTHCHECK").args
    options, sep, rest = args.partition("CMD ")
    assert sep, f"HEALTHCHECK without CMD: {args}"
    return command_of(rest)


def local(command: list[str], port: int) -> list[str]:
    """The container's command as it runs here: loopback, a free port, this venv's executables."""
    exe = {"python": sys.executable, "python3": sys.executable,
           "streamlit": str(Path(sys.executable).with_name("streamlit"))}
    out = [exe.get(command[0], command[0]), *command[1:]]
    return [a.replace("0.0.0.0", "127.0.0.1").replace(PORT, str(port)) for a in out]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dockerignored(rel: str) -> bool:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    parts = PurePosixPath(rel).parts
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch(prefix, pat.removeprefix("**/")) or fnmatch(prefix, pat)
               for pat in patterns for prefix in prefixes)


def copies() -> list[tuple[list[str], str, str]]:
    """(sources, destination, workdir) of each COPY from the build context."""
    out = []
    for ins in parse_dockerfile():
        if ins.keyword != "COPY":
            continue
        words = [w for w in shlex.split(ins.args) if not w.startswith("--")]
        assert not ins.args.startswith("--from"), "multi-stage COPY is not simulated here"
        *sources, dest = words
        out.append((sources, dest, ins.workdir))
    return out


def declared_packages() -> tuple[list[str], dict[str, list[str]]]:
    """The packages `pip install .` ships: an explicit `packages` list, or what
    [tool.setuptools.packages.find] discovers (setuptools' own finder, same arguments)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    packages = setuptools.get("packages")
    if isinstance(packages, dict):
        from setuptools import find_namespace_packages, find_packages

        find = packages["find"]
        finder = find_namespace_packages if find.get("namespaces", True) else find_packages
        packages = []
        for where in find.get("where", ["."]):
            packages += finder(str(ROOT / where), include=find.get("include", ["*"]), exclude=find.get("exclude", ()))
    return packages, setuptools.get("package-data", {})


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> dict[str, Path]:
    """`site`: what `pip install .` puts in site-packages; `app`: the final WORKDIR after the COPYs."""
    base = tmp_path_factory.mktemp("image")
    site, app, hooks = base / "site-packages", base / "app", base / "hooks"
    hooks.mkdir()
    # the image has `pip install .`, not this checkout's editable install, whose import hook would
    # otherwise find any module of the source tree (sitecustomize runs after the .pth files)
    (hooks / "sitecustomize.py").write_text(
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if not str(getattr(f, '__module__', '')).startswith("
        "'__editable__')]\n")
    packages, data = declared_packages()
    for package in packages:
        src = ROOT / package.replace(".", "/")
        dst = site / package.replace(".", "/")
        dst.mkdir(parents=True, exist_ok=True)
        for f in src.glob("*.py"):  # an explicit package list installs each package's own modules only
            shutil.copy2(f, dst)
        for pattern in data.get(package, []):
            for f in src.glob(pattern):
                shutil.copy2(f, dst)
    workdir = PurePosixPath(only("CMD").workdir)
    for sources, dest, at in copies():
        if at != str(workdir):
            continue  # build-time copies (the package sources for `pip install .`)
        target = app / (PurePosixPath(at) / dest).relative_to(workdir)
        for source in sources:
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            elif dest.endswith("/"):  # COPY file dir/ keeps the file's name
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target / src.name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)
    return {"site": site, "app": app, "hooks": hooks}


def image_env(image: dict[str, Path], tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{image['hooks']}{os.pathsep}{image['site']}", "HOME": str(tmp_path / "home"),
            "CQOX_DATA_DIR": str(tmp_path / "data"), "CQOX_ADMIN_PASSWORD": "docker-admin-pw"}


# -- the Dockerfile's promises ------------------------------------------------------------------------

def test_the_image_is_python_311_slim_and_runs_as_a_non_root_user():
    assert only("FROM").args == "python:3.11-slim"
    instructions = parse_dockerfile()
    users = [i for i in instructions if i.keyword == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0"), user
    assert [i.keyword for i in instructions].index("USER") < [i.keyword for i in instructions].index("CMD")
    assert any(i.keyword == "RUN" and "useradd" in i.args and user in i.args for i in instructions)


def test_the_image_installs_the_package_without_test_extras_and_keeps_data_in_a_volume():
    runs = " && ".join(i.args for i in parse_dockerfile() if i.keyword == "RUN")
    assert "pip install ." in runs
    assert "[test]" not in runs and "playwright" not in runs
    assert any(i.keyword == "ENV" and "CQOX_DATA_DIR=/data" in i.args for i in parse_dockerfile())
    assert "/data" in only("VOLUME").args
    assert only("EXPOSE").args.split() == [PORT]
    assert cmd()[:3] == ["streamlit", "run", "app.py"]
    assert "0.0.0.0" in cmd() and PORT in cmd()


def test_dockerignore_keeps_environments_and_artifacts_out_but_not_what_is_copied():
    for path in (".venv", ".git", "test-artifacts", ".venv/lib/x.py"):
        assert dockerignored(path), path
    for sources, _, _ in copies():
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not dockerignored(source), f"COPY {source}: excluded by .dockerignore"


def test_pip_install_dot_installs_every_package_of_the_engine():
    """A subpackage that pyproject.toml neither lists nor discovers is left out by `pip install .`
    (the image; an editable install hides this)."""
    packages, _ = declared_packages()
    on_disk = sorted(str(p.parent.relative_to(ROOT)).replace("/", ".")
                     for top in ("cqox_core", "wolfram") for p in (ROOT / top).rglob("__init__.py")
                     if "__pycache__" not in p.parts)
    missing = [p for p in on_disk if p not in packages]
    assert not missing, f"not in [tool.setuptools] packages of pyproject.toml: {missing}"


def test_every_import_of_the_app_works_in_the_image(image, tmp_path):
    """Each import statement of app.py, app_lib/ and app_pages/, run in the simulated image."""
    statements: set[str] = set()
    for file in [image["app"] / "app.py", *image["app"].glob("app_lib/*.py"), *image["app"].glob("app_pages/*.py")]:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and not node.level):
                statements.add(ast.unparse(node))
    assert "from app_lib import auth" in statements and any("cqox_core" in s for s in statements)
    ordered = sorted(statements, key=lambda s: not s.startswith("from __future__"))
    out = subprocess.run([sys.executable, "-c", "\n".join([*ordered, "print('ok')"])], cwd=image["app"],
                         capture_output=True, text=True, timeout=120, env=image_env(image, tmp_path))
    assert out.returncode == 0, out.stderr.strip().splitlines()[-1]


# -- the CMD and the HEALTHCHECK, run ------------------------------------------------------------------

def test_the_cmd_serves_the_app_and_the_healthcheck_passes_on_it(image, tmp_path):
    port = free_port()
    env = image_env(image, tmp_path)
    check = local(healthcheck(), port)
    assert check != healthcheck(), "the health check does not name 127.0.0.1:8501"

    def healthy() -> bool:
        return subprocess.run(check, capture_output=True, timeout=30, env=env).returncode == 0

    assert not healthy(), "the health check passes with nothing listening: it cannot fail"
    log = tmp_path / "streamlit.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen(local(cmd(), port), cwd=image["app"], env=env, stdout=sink,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90  # the image's start period is 30 s; 2 shared cores here
        while not healthy():
            assert proc.poll() is None, f"the CMD exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"never healthy:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
        text = log.read_text()
        assert f"127.0.0.1:{port}" in text, text  # the address and port came from the CMD's flags
    finally:
        os.kill(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait(timeout=10)
    assert not healthy(), "still healthy after the server stopped"

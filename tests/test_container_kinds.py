"""Containers as users really run them, on a real engine.

Images built from tests/data/images (a venv first on PATH without pip, a distroless image
without a shell, two Pythons, a Python-2.7-only image), the sample projects and the probe's
test image. For each: the interpreter parity picks, the probe's package list against ground
truth computed independently (``pip freeze`` where pip exists, ``importlib.metadata`` or the
*.dist-info names read through the archive API where it does not), and ``--static`` equal to
the probe. Running containers are probed in place with the exec API.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.engine.interpreters import (
    choose_interpreter,
    find_interpreters,
    image_facts,
    probe_chosen_interpreter,
    scout_container,
)
from parity.engine.probe_container import ProbeRequest, run_probe
from parity.engine.probe_exec import ContainerStateError, exec_probe
from parity.engine.probe_static import static_environment, static_probe_output
from parity.errors import ProbeError
from parity.model import Environment, canonical_name
from parity.probe.parse import PROBE_SOURCE, parse_probe_output
from tests.conftest import SAMPLES, TEST_DATA
from tests.helpers import image_freeze

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGES = TEST_DATA / "images"
CONTEXTS: dict[str, tuple[Path, dict[str, str]]] = {
    "venv-app": (IMAGES / "venv-app", {}),
    "no-shell": (IMAGES / "no-shell", {}),
    "two-pythons": (IMAGES / "two-pythons", {}),
    "py27-only": (IMAGES / "py27-only", {}),
    "sample-flask-requirements": (SAMPLES / "flask-requirements", {}),
    "sample-venv-multistage": (SAMPLES / "venv-multistage", {}),
    "probe-data": (TEST_DATA / "probe", {"BASE": "python:3.11-slim"}),
}
# The interpreter parity picks by default in each image, and why.
DEFAULT_CHOICE = {
    "venv-app": "/app/.venv/bin/python",  # CMD ["python", ...]; the venv is first on PATH
    "no-shell": "/usr/bin/python3",  # ENTRYPOINT ["/usr/bin/python3"]
    "two-pythons": "/usr/bin/python3",
    "py27-only": "/usr/bin/python2.7",  # neither python3 nor python: the only one on PATH
    "sample-flask-requirements": "/usr/bin/python",  # CMD ["python", "-m", "flask", ...]
    "sample-venv-multistage": "/opt/venv/bin/python",  # CMD ["python", "main.py"]
    "probe-data": "/usr/bin/python3",
}
# Interpreters without pip: ground truth from importlib.metadata, or from file names.
IMPORTLIB_TRUTH = {"venv-app", "no-shell"}
LISTING_TRUTH = {"py27-only": ("/usr/local/lib/python2.7/dist-packages",)}
CASES = [(name, None) for name in CONTEXTS] + [
    ("two-pythons", "python3.9"),
    ("two-pythons", "/opt/shared-venv/bin/python"),
]
# Interpreter facts --static must read exactly as the probe reports them.
INTERPRETER_FIELDS = (
    "implementation",
    "version",
    "executable",
    "prefix",
    "base_prefix",
    "is_venv",
    "machine",
    "os",
    "libc",
    "pip_version",
    "externally_managed",
)
# importlib.metadata, first distribution of each name (sys.path order), as JSON.
IMPORTLIB_SCRIPT = r"""
import importlib.metadata as metadata, json, re
found = {}
for dist in metadata.distributions():
    name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
    found.setdefault(name, dist.version)
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def built(docker_client: Any, base_image: Any) -> Callable[[str], str]:
    """Build (once per module, layer cache reused) and return the tag of a test image."""
    base_image("3.11")
    base_image("3.9")
    tags: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in tags:
            context, buildargs = CONTEXTS[name]
            tag = f"parity-test/{name}:latest"
            docker_client.images.build(
                path=str(context),
                tag=tag,
                buildargs=buildargs,
                network_mode="host",
                rm=True,
                forcerm=True,
                pull=False,
            )
            tags[name] = tag
        return tags[name]

    return get


def probe_image(client: Any, image: str, python: str | None = None) -> bytes:
    """The probe in a throwaway container, with the interpreter parity picks (one start)."""
    interpreter = choose_interpreter(client, image, python)
    run = run_probe(client, ProbeRequest(image=image, python=interpreter.path), PROBE_SOURCE)
    assert run.stdout.strip(), run.stderr.decode("utf-8", "replace")
    return run.stdout


def versions(environment: Environment) -> dict[str, str]:
    return {package.key: package.version for package in environment.packages}


def run_in_image(client: Any, image: str, python: str, script: str) -> bytes:
    output: bytes = client.containers.run(
        image, ["-c", script], entrypoint=[python], network_mode="none", remove=True
    )
    return output


def listed_distributions(client: Any, image: str, directories: tuple[str, ...]) -> dict[str, str]:
    """{name: version} from the *.dist-info / *.egg-info names in ``directories``."""
    found: dict[str, str] = {}
    container = client.api.create_container(image, entrypoint=["/none"], command=[])
    try:
        for directory in directories:
            chunks, _ = client.api.get_archive(container["Id"], directory)
            with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
                for name in archive.getnames():
                    match = re.match(r"^[^/]+/([^/-]+)-([^/-]+?)\.(dist-info|egg-info)$", name)
                    if match:
                        found.setdefault(canonical_name(match.group(1)), match.group(2))
    finally:
        client.api.remove_container(container["Id"], force=True)
    return found


def ground_truth(client: Any, name: str, image: str, python: str) -> dict[str, str]:
    if name in LISTING_TRUTH:
        return listed_distributions(client, image, LISTING_TRUTH[name])
    if name in IMPORTLIB_TRUTH:
        result: dict[str, str] = json.loads(run_in_image(client, image, python, IMPORTLIB_SCRIPT))
        return result
    return image_freeze(client, image, python)


# --- the interpreter ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONTEXTS))
def test_the_default_interpreter_is_what_the_image_runs(
    docker_client: Any, engine: Any, built: Callable[[str], str], name: str
) -> None:
    chosen = choose_interpreter(engine, built(name))
    assert chosen.path == DEFAULT_CHOICE[name]


@pytest.fixture
def created(engine: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The interpreter (entrypoint) of every container parity's engine client creates."""
    entrypoints: list[str] = []
    create = engine.api.create_container

    def recording(*args: Any, **kwargs: Any) -> Any:
        entrypoints.append(kwargs["entrypoint"][0])
        return create(*args, **kwargs)

    monkeypatch.setattr(engine.api, "create_container", recording)
    return entrypoints


# Images whose likely interpreter (the --python given, the python their command runs, else
# python3 on PATH) is not the one chosen: their probe needs a second container.
SECOND_CONTAINER = {"py27-only"}


@pytest.mark.parametrize("name", list(CONTEXTS))
def test_the_probe_container_is_the_scout(
    engine: Any, built: Callable[[str], str], name: str, created: list[str]
) -> None:
    """The interpreter is chosen in the probe's own container before it starts: one container
    when the likely interpreter is the one chosen, a second only when it is not; the same
    choice as a scout container makes, and the probe runs it."""
    image = built(name)
    facts = image_facts(engine, image)
    chosen: list[str] = []
    request = ProbeRequest(image=image)
    run = probe_chosen_interpreter(
        engine, request, PROBE_SOURCE, facts, lambda candidate: chosen.append(candidate.path)
    )
    assert chosen == [DEFAULT_CHOICE[name]]
    probed = parse_probe_output(run.stdout, kind="image", ref=image, description=name)
    assert probed.interpreter is not None
    assert probed.interpreter.executable == DEFAULT_CHOICE[name]
    assert run.interpreter in (DEFAULT_CHOICE[name], created[0])
    if name in SECOND_CONTAINER:
        assert created == [created[0], DEFAULT_CHOICE[name]]
    else:
        assert len(created) == 1, created


def test_a_named_python_is_the_probe_container_s_interpreter(
    engine: Any, built: Callable[[str], str], created: list[str]
) -> None:
    """--python python3.9 in an image with two Pythons: one container, created for it."""
    image = built("two-pythons")
    request = ProbeRequest(image=image, python="python3.9")
    run = probe_chosen_interpreter(
        engine, request, PROBE_SOURCE, image_facts(engine, image), lambda candidate: None
    )
    probed = parse_probe_output(run.stdout, kind="image", ref=image, description="two")
    assert probed.interpreter is not None and probed.interpreter.version.startswith("3.9")
    assert created == ["python3.9"]


def test_venvs_on_path_resolve_inside_the_image(
    docker_client: Any, engine: Any, built: Callable[[str], str]
) -> None:
    for name, venv in (("venv-app", "/app/.venv"), ("sample-venv-multistage", "/opt/venv")):
        found = find_interpreters(engine, built(name))
        assert found[0].path == f"{venv}/bin/python3"
        assert found[0].real_path == "/usr/bin/python3.11"  # the venv's link, resolved in the image
        system = [item for item in found if item.path == "/usr/bin/python3"]
        assert system and system[0].shadowed  # behind the venv's python3 on PATH


def test_several_interpreters_are_listed_and_python_picks_one(
    docker_client: Any, engine: Any, built: Callable[[str], str]
) -> None:
    image = built("two-pythons")
    found = {item.path: item.version for item in find_interpreters(engine, image)}
    assert found == {
        "/usr/bin/python3": "3.11",
        "/usr/bin/python": "3.11",
        "/usr/bin/python3.11": "3.11",
        "/usr/bin/python3.9": "3.9",
    }
    assert choose_interpreter(engine, image, "python3.9").path == "/usr/bin/python3.9"
    assert choose_interpreter(engine, image, "/usr/bin/python3.9").version == "3.9"
    with pytest.raises(ProbeError) as raised:
        choose_interpreter(engine, image, "python3.7")
    message = str(raised.value)
    assert "no python3.7" in message and "/usr/bin/python3.9 (3.9)" in message
    environment = parse_probe_output(
        probe_image(engine, image, "python3.9"), kind="image", ref=image
    )
    assert environment.interpreter is not None
    assert environment.interpreter.minor_version == "3.9"
    assert versions(environment)["six"] == "1.15.0"  # python3's own six is 1.16.0


def test_user_site_and_system_site_venv(
    docker_client: Any, engine: Any, built: Callable[[str], str]
) -> None:
    image = built("two-pythons")
    system = parse_probe_output(probe_image(engine, image), kind="image", ref=image)
    assert versions(system)["attrs"] == "22.2.0"  # root's user site comes before the global one
    output = probe_image(engine, image, "/opt/shared-venv/bin/python")
    shared = parse_probe_output(output, kind="image", ref=image)
    assert shared.interpreter is not None and shared.interpreter.is_venv
    assert versions(shared)["idna"] == "3.6"  # the venv's own, before nothing else
    assert versions(shared)["six"] == "1.16.0"  # from the system site packages


def test_the_scout_container_is_never_started_and_always_removed(
    docker_client: Any, engine: Any, built: Callable[[str], str]
) -> None:
    with scout_container(engine, built("no-shell")) as files:
        state = docker_client.api.inspect_container(files.container_id)["State"]
        assert state["Status"] == "created"
        assert files.stat("/bin/sh") is None  # and the image really has no shell
        scout = files.container_id
    engine.api.wait_for_removals()  # parity's client removes it in the background
    assert docker_client.containers.list(all=True, filters={"id": scout}) == []


def test_python_2_7_only_image(
    docker_client: Any, engine: Any, built: Callable[[str], str]
) -> None:
    image = built("py27-only")
    assert [item.path for item in find_interpreters(engine, image)] == ["/usr/bin/python2.7"]
    environment = parse_probe_output(probe_image(engine, image), kind="image", ref=image)
    assert environment.interpreter is not None
    assert environment.interpreter.version.startswith("2.7.")
    assert versions(environment) == {"legacy": "1.0", "six": "1.16.0"}


# --- the probe against ground truth, and --static against the probe ----------------------------


@pytest.mark.parametrize(("name", "python"), CASES)
def test_probe_matches_ground_truth(
    docker_client: Any, engine: Any, built: Callable[[str], str], name: str, python: str | None
) -> None:
    image = built(name)
    interpreter = choose_interpreter(engine, image, python)
    environment = parse_probe_output(probe_image(engine, image, python), kind="image", ref=image)
    assert versions(environment) == ground_truth(docker_client, name, image, interpreter.path)


@pytest.mark.parametrize(("name", "python"), CASES)
def test_static_equals_probe(
    docker_client: Any, engine: Any, built: Callable[[str], str], name: str, python: str | None
) -> None:
    image = built(name)
    probed = json.loads(probe_image(engine, image, python))
    static = json.loads(static_probe_output(engine, image, python=python)[0])
    assert static["distributions"] == probed["distributions"]
    for field in INTERPRETER_FIELDS:
        assert static["interpreter"][field] == probed["interpreter"][field], field
    static_markers = dict(static["interpreter"]["markers"], platform_version="")
    probed_markers = dict(probed["interpreter"]["markers"], platform_version="")
    assert static_markers == probed_markers  # uname -v is the one fact files cannot give
    assert static["warnings"] == probed["warnings"]


def test_static_environment_is_an_installed_side(
    docker_client: Any, engine: Any, built: Callable[[str], str]
) -> None:
    image = built("probe-data")
    image_id = docker_client.images.get(image).id
    environment = static_environment(engine, image_id, ref="probe-data")
    assert environment.image_id == image_id
    assert environment.ref == "probe-data"
    assert versions(environment)["six"] == "1.15.0"  # PYTHONPATH (/opt/extra) comes first
    assert environment.interpreter is not None and environment.interpreter.externally_managed


# --- running containers -----------------------------------------------------------------------


@pytest.fixture
def running(docker_client: Any) -> Iterator[Callable[..., Any]]:
    """Start containers for a test; every one is removed afterwards."""
    started: list[Any] = []

    def start(image: str, command: list[str], **options: Any) -> Any:
        container = docker_client.containers.run(
            image, command, detach=True, network_mode="none", **options
        )
        started.append(container)
        return container

    yield start
    for container in started:
        container.remove(force=True)


def exec_truth(container: Any, python: str) -> dict[str, str]:
    code, output = container.exec_run([python, "-c", IMPORTLIB_SCRIPT])
    assert code == 0, output
    result: dict[str, str] = json.loads(output)
    return result


WRITE_DIST_INFO = (
    "import os; d = '/srv/extra/runtime_pkg-2.0.dist-info'; os.makedirs(d); "
    "open(d + '/METADATA', 'w')"
    ".write('Metadata-Version: 2.1\\nName: runtime-pkg\\nVersion: 2.0\\n')"
)


def test_exec_probe_sees_the_container_as_it_runs(
    docker_client: Any, engine: Any, built: Callable[[str], str], running: Callable[..., Any]
) -> None:
    image = built("venv-app")
    container = running(image, ["sleep", "600"], environment={"PYTHONPATH": "/srv/extra"})
    code, output = container.exec_run(["python", "-c", WRITE_DIST_INFO])
    assert code == 0, output
    document = json.loads(exec_probe(engine, container.name))
    environment = parse_probe_output(json.dumps(document), kind="container", ref=container.name)
    assert versions(environment) == exec_truth(container, "python")
    assert versions(environment)["runtime-pkg"] == "2.0"  # installed after the image was built
    assert document["interpreter"]["executable"] == "/app/.venv/bin/python3"
    assert document["interpreter"]["sys_path"][1] == "/srv/extra"  # the container's own env
    from_image = parse_probe_output(probe_image(engine, image), kind="image", ref=image)
    assert "runtime-pkg" not in versions(from_image)


@pytest.mark.parametrize(
    ("name", "command", "python"),
    [
        ("no-shell", ["-c", "import time; time.sleep(600)"], "/usr/bin/python3"),
        ("py27-only", ["python2.7", "-c", "import time; time.sleep(600)"], None),
    ],
)
def test_exec_probe_without_a_shell_and_on_python_2_7(
    docker_client: Any,
    engine: Any,
    built: Callable[[str], str],
    running: Callable[..., Any],
    name: str,
    command: list[str],
    python: str | None,
) -> None:
    image = built(name)
    container = running(image, command, user="65534:65534")
    environment = parse_probe_output(exec_probe(engine, container.id), kind="container", ref=name)
    expected = (
        exec_truth(container, python)
        if python
        else listed_distributions(docker_client, image, LISTING_TRUTH[name])
    )
    assert versions(environment) == expected


def test_exec_probe_names_a_missing_or_stopped_container(
    docker_client: Any, engine: Any, built: Callable[[str], str], running: Callable[..., Any]
) -> None:
    with pytest.raises(ContainerStateError) as missing:
        exec_probe(engine, "parity-no-such-container")
    assert "container parity-no-such-container: no such container" in str(missing.value)
    created = docker_client.containers.create(built("venv-app"), ["sleep", "600"])
    try:
        with pytest.raises(ContainerStateError) as stopped:
            exec_probe(engine, created.name)
        assert f"container {created.name}: is not running (status: created)" in str(stopped.value)
    finally:
        created.remove(force=True)
    paused = running(built("venv-app"), ["sleep", "600"])
    paused.pause()
    try:
        with pytest.raises(ContainerStateError, match="is paused"):
            exec_probe(engine, paused.name)
    finally:
        paused.unpause()


def test_exec_probe_stops_waiting_but_leaves_the_container_running(
    docker_client: Any, engine: Any, built: Callable[[str], str], running: Callable[..., Any]
) -> None:
    container = running(built("venv-app"), ["sleep", "600"])
    scripts = "printf '#!/bin/sh\\nsleep 300\\n' > /slow; printf '#!/bin/sh\\nexec yes\\n' > /flood"
    code, output = container.exec_run(["sh", "-c", f"{scripts}; chmod +x /slow /flood"])
    assert code == 0, output
    with pytest.raises(ProbeError) as slow:
        exec_probe(engine, container.name, python="/slow", timeout=2)
    assert (
        str(slow.value)
        == f"container {container.name}: the probe did not finish within 2 s; stopped it"
    )
    with pytest.raises(ProbeError) as flood:
        exec_probe(engine, container.name, python="/flood", timeout=60)
    assert "printed more than 64 MiB" in str(flood.value)
    container.reload()
    assert container.status == "running"


def test_image_facts_read_the_config(docker_client: Any, built: Callable[[str], str]) -> None:
    facts = image_facts(docker_client, built("venv-app"), {"EXTRA": "1"})
    assert facts.search_path[0] == "/app/.venv/bin"
    assert facts.program == ("python", "-m", "http.server")
    assert facts.env["EXTRA"] == "1"
    assert facts.architecture

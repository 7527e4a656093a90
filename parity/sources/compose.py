"""A compose project's services: from compose's own model, or read the way compose reads it.

:func:`load_project` asks the user's compose binary (``docker compose config``, see
:mod:`parity.engine.compose_cli`) where one exists; only where none exists does it fall
back to :func:`load_compose`, parity's own reader, described below.

:func:`load_compose` gives each service's image, build (context, Dockerfile, args,
target), environment and profiles after compose's own processing: the project's ``.env``
file, ``${VAR}`` interpolation (see :mod:`parity.sources.interpolation`), ``extends``,
``env_file`` and the ``environment`` precedence. The rules follow compose-go v2.9 (the
loader inside ``docker compose`` 2.40), checked against ``docker compose config``.

Not read: ``include``, override files (``compose.override.yaml``) and the keys parity
has no use for (ports, volumes, networks, ...). Those keys are still interpolated, so a
``${VAR?error}`` anywhere fails the load, as it does in compose.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import itertools
import math
import os
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar, Union

import yaml

if TYPE_CHECKING:
    from parity.probe.interpreter_choice import RunOverrides

from parity.errors import SourceError
from parity.model import Location
from parity.sources.interpolation import (
    InterpolationError,
    interpolate,
    parse_dotenv,
    parse_raw_env,
)

# compose's own search order (compose-go cli.DefaultFileNames).
COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
_SERVICE_NAME = re.compile(r"[a-zA-Z0-9._-]+\Z")
_REMOTE_CONTEXT_PREFIXES = ("https://", "http://", "git://", "ssh://", "github.com/", "git@")


class ComposeError(SourceError):
    """A compose file (or its ``.env`` / ``env_file``) that compose itself would reject."""


@dataclass(frozen=True)
class ComposeBuild:
    """A service's ``build:`` section, with compose's defaults filled in.

    ``context`` is an absolute path, or the URL as written for a remote context
    (git, ``https://``, ``docker-image://``). ``dockerfile`` is absolute when the context
    is local. ``args`` holds only the args that have a value (compose drops a bare
    ``- NAME`` whose variable is unset, so the Dockerfile's ``ARG`` default applies).
    """

    context: str
    dockerfile: str
    args: tuple[tuple[str, str], ...] = ()
    target: str | None = None
    network: str | None = None
    platforms: tuple[str, ...] = ()
    dockerfile_inline: str | None = None  # when set, compose builds from this text
    secrets: tuple[str, ...] = ()  # buildx --secret specs from the service's build.secrets

    @property
    def is_local(self) -> bool:
        return os.path.isabs(self.context)


@dataclass(frozen=True)
class ComposeService:
    """One service as compose would run it.

    ``environment`` is the container's environment from ``env_file`` and ``environment``
    (later wins). A value of ``None`` is a name listed without a value whose variable is
    unset: compose passes the bare name, and the engine leaves it unset in the container.
    ``active`` is False when the service has profiles and none of them is enabled.
    """

    name: str
    image: str | None
    build: ComposeBuild | None
    environment: tuple[tuple[str, str | None], ...]
    profiles: tuple[str, ...]
    platform: str | None
    active: bool
    declared_at: Location
    image_name: str = ""  # the image compose runs: ``image:``, else ``<project>-<service>``
    entrypoint: tuple[str, ...] | None = None  # None: the image's own
    command: tuple[str, ...] | None = None
    working_dir: str | None = None

    @property
    def runs(self) -> RunOverrides | None:
        """How the service runs its image, where it says otherwise than the image."""
        if self.entrypoint is None and self.command is None and not self.working_dir:
            return None
        from parity.probe.interpreter_choice import RunOverrides

        return RunOverrides(self.entrypoint, self.command, self.working_dir or None)


@dataclass(frozen=True)
class ComposeProject:
    """A compose file's services (in file order), and compose's warnings while reading it.

    ``reader`` says who read it: ``"compose 2.26.1"`` (the user's compose binary) or
    ``"parity"`` (the built-in reader, where no compose binary exists).
    """

    path: str
    project_dir: str
    services: tuple[ComposeService, ...]
    warnings: tuple[str, ...] = ()
    name: str = ""
    reader: str = "parity"


def find_compose_file(project_dir: str, *, search_parents: bool = False) -> str | None:
    """The compose file ``docker compose`` would pick in ``project_dir``, or None.

    Names are tried in compose's order: compose.yaml, compose.yml, docker-compose.yml,
    docker-compose.yaml. With ``search_parents``, walk up the parent directories as
    compose does when run without ``-f``.
    """
    directory = os.path.abspath(project_dir)
    while True:
        for name in COMPOSE_FILE_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(directory)
        if not search_parents or parent == directory:
            return None
        directory = parent


def load_compose(
    path: str,
    *,
    environ: Mapping[str, str] | None = None,
    profiles: Sequence[str] = (),
) -> ComposeProject:
    """Read the compose file at ``path`` as ``docker compose -f path`` would.

    ``environ`` (default: ``os.environ``) overrides the ``.env`` file next to the compose
    file. ``profiles`` are the enabled profiles; when empty, ``COMPOSE_PROFILES`` from
    that environment is used, as compose does. Raises :class:`ComposeError`.
    """
    compose_path = os.path.abspath(path)
    project_dir = os.path.dirname(compose_path)
    variables = _project_variables(project_dir, os.environ if environ is None else environ)
    reader = _Reader(variables)
    document = reader.document(compose_path)
    enabled = _enabled_profiles(profiles, variables)
    name = _project_name(document, variables, project_dir)
    services = tuple(
        _finish_service(reader, _resolve_extends(reader, document, name, ()), enabled, project_dir)
        for name in _service_names(document)
    )
    services = tuple(
        replace(item, image_name=item.image or f"{name}-{item.name}") for item in services
    )
    return ComposeProject(
        compose_path, project_dir, services, tuple(reader.warnings), name=name, reader="parity"
    )


def _project_name(document: _Document, variables: Mapping[str, str], project_dir: str) -> str:
    """compose's project name: COMPOSE_PROJECT_NAME, the file's ``name:``, the folder."""
    declared = document.data.get("name")
    for candidate in (variables.get("COMPOSE_PROJECT_NAME"), declared):
        if isinstance(candidate, str) and candidate:
            return candidate
    return normal_project_name(os.path.basename(project_dir))


def normal_project_name(text: str) -> str:
    """compose's NormalizeProjectName: lower case, only ``[a-z0-9_-]``, a letter or digit first."""
    name = re.sub(r"[^a-z0-9_-]", "", text.lower())
    return name.lstrip("_-")


def load_project(
    project_dir: str,
    compose_file: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ComposeProject:
    """The compose project in ``project_dir`` (or of ``compose_file``), as compose sees it.

    With the user's compose binary: ``compose config`` (without ``-f`` when no file is
    named, so override files and ``COMPOSE_FILE`` count, as for ``docker compose up``).
    Without one: parity's own reader of the one file. Raises :class:`ComposeError`.
    """
    from parity.engine.compose_cli import ComposeCliError, compose_config, find_compose_cli

    environ = os.environ if environ is None else environ
    main_file = compose_file or _compose_file_for(project_dir, environ)
    if main_file is None:
        raise ComposeError(
            "no compose file here (compose.yaml, docker-compose.yml...)", Location(project_dir)
        )
    cli = find_compose_cli(environ)
    if cli is None:
        return load_compose(main_file, environ=environ)
    workdir = os.path.dirname(os.path.abspath(compose_file)) if compose_file else project_dir
    files: tuple[str, ...] = ()
    if compose_file and not _is_default_file(os.path.abspath(compose_file), environ):
        files = (os.path.abspath(compose_file),)
    try:
        everything = compose_config(
            cli, project_dir=workdir, files=files, all_profiles=True, environ=environ
        )
        active = compose_config(cli, project_dir=workdir, files=files, environ=environ)
    except ComposeCliError as error:
        raise ComposeError(f"docker compose config: {error.message}", Location(main_file)) from None
    return _project_from_model(everything, active, main_file, f"compose {cli.version}")


def _is_default_file(path: str, environ: Mapping[str, str]) -> bool:
    """Whether compose, run in the file's folder, reads it (with its override files) anyway."""
    if environ.get("COMPOSE_FILE"):
        return False
    return find_compose_file(os.path.dirname(path)) == path


def _compose_file_for(project_dir: str, environ: Mapping[str, str]) -> str | None:
    """The first file compose reads: COMPOSE_FILE's first, else the one it finds."""
    listed = environ.get("COMPOSE_FILE")
    if listed:
        first = listed.split(environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep)[0]
        return os.path.join(os.path.abspath(project_dir), first)
    return find_compose_file(project_dir, search_parents=True)


def _project_from_model(
    model: Mapping[str, object], active: Mapping[str, object], main_file: str, reader: str
) -> ComposeProject:
    """A ComposeProject from ``compose config --format json`` (all profiles, and active)."""
    name = str(model.get("name") or "")
    raw_secrets = model.get("secrets")
    secrets: Mapping[str, object] = raw_secrets if isinstance(raw_secrets, dict) else {}
    active_services = active.get("services")
    active_names = set(active_services) if isinstance(active_services, dict) else set()
    raw_services = model.get("services")
    services: list[ComposeService] = []
    where = Location(main_file)
    for service_name, raw in raw_services.items() if isinstance(raw_services, dict) else ():
        if not isinstance(raw, dict):
            continue
        environment = raw.get("environment") or {}
        image = raw.get("image") if isinstance(raw.get("image"), str) else None
        services.append(
            ComposeService(
                name=service_name,
                image=image,
                build=_model_build(raw.get("build"), secrets),
                environment=tuple(
                    (str(key), None if value is None else str(value))
                    for key, value in (environment.items() if isinstance(environment, dict) else ())
                ),
                profiles=tuple(str(item) for item in raw.get("profiles") or ()),
                platform=raw.get("platform") if isinstance(raw.get("platform"), str) else None,
                active=service_name in active_names,
                declared_at=where,
                image_name=image or f"{name}-{service_name}",
                entrypoint=_model_words(raw.get("entrypoint")),
                command=_model_words(raw.get("command")),
                working_dir=raw.get("working_dir")
                if isinstance(raw.get("working_dir"), str)
                else None,
            )
        )
    return ComposeProject(
        main_file,
        os.path.dirname(main_file),
        tuple(services),
        name=name,
        reader=reader,
    )


def _model_string(raw: object) -> str | None:
    return raw if isinstance(raw, str) else None


def _model_words(raw: object) -> tuple[str, ...] | None:
    """``entrypoint``/``command`` of compose's model: a list of words (compose has split a
    string already), or None when the service leaves the image's."""
    if isinstance(raw, list):
        return tuple(str(word) for word in raw)
    if isinstance(raw, str):
        return tuple(shlex.split(raw))
    return None


def _model_build(raw: object, secrets: Mapping[str, object]) -> ComposeBuild | None:
    if not isinstance(raw, dict):
        return None
    context = str(raw.get("context") or "")
    dockerfile = str(raw.get("dockerfile") or "Dockerfile")
    if os.path.isabs(context) and not os.path.isabs(dockerfile):
        dockerfile = os.path.normpath(os.path.join(context, dockerfile))
    raw_args = raw.get("args")
    args: Mapping[str, object] = raw_args if isinstance(raw_args, dict) else {}
    return ComposeBuild(
        context=context,
        dockerfile=dockerfile,
        args=tuple((str(key), str(value)) for key, value in args.items() if value is not None),
        target=raw.get("target") if isinstance(raw.get("target"), str) else None,
        network=raw.get("network") if isinstance(raw.get("network"), str) else None,
        platforms=tuple(str(item) for item in raw.get("platforms") or ()),
        dockerfile_inline=(
            raw.get("dockerfile_inline") if isinstance(raw.get("dockerfile_inline"), str) else None
        ),
        secrets=tuple(_secret_specs(raw.get("secrets"), secrets)),
    )


def _secret_specs(uses: object, secrets: Mapping[str, object]) -> Iterator[str]:
    """buildx ``--secret`` specs for a build's ``secrets:`` (files and environment variables)."""
    for use in uses if isinstance(uses, list) else ():
        source = use.get("source") if isinstance(use, dict) else use
        if not isinstance(source, str):
            continue
        target = use.get("target") if isinstance(use, dict) else None
        secret_id = target if isinstance(target, str) and target else source
        definition = secrets.get(source)
        if not isinstance(definition, dict):
            continue
        if isinstance(definition.get("file"), str):
            yield f"id={secret_id},src={definition['file']}"
        elif isinstance(definition.get("environment"), str):
            yield f"id={secret_id},env={definition['environment']}"


def service(project: ComposeProject, name: str) -> ComposeService:
    """The service called ``name``; a ComposeError listing the known ones otherwise."""
    for candidate in project.services:
        if candidate.name == name:
            return candidate
    known = ", ".join(candidate.name for candidate in project.services) or "none"
    raise ComposeError(f"no service {name!r} (services: {known})", Location(project.path))


# ------------------------------------------------------------------------ YAML layer

_PLAIN = "tag:parity.io,2024:plain"
_YAML_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class _Timestamp:
    """A plain scalar YAML reads as a timestamp (compose rejects it where it wants text)."""

    text: str


_Yaml = Union[None, bool, int, float, str, _Timestamp, list["_Yaml"], dict[str, "_Yaml"]]
_Path = tuple[Union[str, int], ...]


class _Loader(yaml.SafeLoader):
    """A SafeLoader that tags plain scalars, so compose's YAML 1.2 rules can type them."""

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        resolved: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return resolved


@dataclass
class _Document:
    """One parsed, interpolated compose file and the line of every value in it."""

    path: str
    data: dict[str, _Yaml]
    lines: dict[_Path, int] = field(default_factory=dict)

    @property
    def directory(self) -> str:
        return os.path.dirname(self.path)

    def location(self, path: _Path) -> Location:
        """Where the value at ``path`` (or its nearest ancestor with a known line) is."""
        for length in range(len(path), 0, -1):
            line = self.lines.get(path[:length])
            if line is not None:
                return Location(self.path, line)
        return Location(self.path)

    def error(self, path: _Path, message: str, separator: str = ":") -> ComposeError:
        return ComposeError(f"{_dotted(path)}{separator} {message}", self.location(path))


def _dotted(path: _Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class _Reader:
    """Reads and caches the compose files of one project (the main one and extends bases)."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.variables = variables
        self.documents: dict[str, _Document] = {}
        self.warnings: list[str] = []
        self._missing: set[str] = set()

    def note_missing(self, name: str) -> None:
        if name not in self._missing:
            self._missing.add(name)
            self.warnings.append(f"the {name!r} variable is not set; compose uses an empty string")

    def document(self, path: str) -> _Document:
        if path not in self.documents:
            self.documents[path] = self._read(path)
        return self.documents[path]

    def _read(self, path: str) -> _Document:
        text = _read_text(path, "compose file")
        try:
            root = yaml.compose(text, Loader=_Loader)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark is not None else None
            raise ComposeError(f"invalid YAML: {error.problem}", Location(path, line)) from None
        except (yaml.YAMLError, RecursionError) as error:
            raise ComposeError(f"invalid YAML: {error}", Location(path)) from None
        if root is None:
            raise ComposeError("empty compose file", Location(path))
        document = _Document(path, {})
        data = _Converter(document, self).convert(root, ())
        if not isinstance(data, dict):
            raise ComposeError(
                f"the top level must be a mapping, not {_describe(data)}", Location(path, 1)
            )
        document.data = data
        if "include" in data:
            self.warnings.append(f"{path}: services from 'include' are not read")
        return document


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ComposeError(f"{what} not found", Location(path)) from None
    except UnicodeDecodeError as error:
        raise ComposeError(f"{what} is not UTF-8 text ({error.reason})", Location(path)) from None
    except OSError as error:
        raise ComposeError(f"cannot read {what}: {error.strerror}", Location(path)) from None


class _Converter:
    """Turns YAML nodes into plain values as compose-go does, interpolating every string.

    Plain scalars are typed by go-yaml v3's rules (YAML 1.2: ``yes`` and ``1:20`` stay
    text, ``010`` is octal); mapping keys are never interpolated; ``<<`` merge keys work.
    """

    def __init__(self, document: _Document, reader: _Reader) -> None:
        self.document = document
        self.reader = reader
        self.converted: dict[int, _Yaml] = {}
        self.active: set[int] = set()

    def convert(self, node: yaml.Node, path: _Path) -> _Yaml:
        self.document.lines.setdefault(path, node.start_mark.line + 1)
        key = id(node)
        if key in self.converted:  # an alias: same node, same value
            return self.converted[key]
        if key in self.active:
            raise self.document.error(path, "a YAML alias refers to itself")
        self.active.add(key)
        try:
            value = self._convert(node, path)
        except RecursionError:
            raise self.document.error(path, "the YAML nests too deeply") from None
        finally:
            self.active.discard(key)
        self.converted[key] = value
        return value

    def _convert(self, node: yaml.Node, path: _Path) -> _Yaml:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        value = _scalar(node, self.document, path)
        if isinstance(value, str):
            return self._interpolate(value, path)
        return value

    def _interpolate(self, text: str, path: _Path) -> str:
        try:
            return interpolate(text, self.reader.variables, self.reader.note_missing)
        except InterpolationError as error:
            raise self.document.error(path, error.reason) from None

    def _mapping(self, node: yaml.MappingNode, path: _Path) -> dict[str, _Yaml]:
        explicit: dict[str, _Yaml] = {}
        merged: dict[str, _Yaml] = {}
        for key_node, value_node in node.value:
            if _is_merge_key(key_node):
                for name, value in self._merge_sources(value_node, path).items():
                    merged.setdefault(name, value)
                continue
            key = self._key(key_node, path)
            child = (*path, key)
            if key in explicit:
                first = self.document.lines.get(child)
                raise ComposeError(
                    f"{_dotted(child)} is defined twice (first on line {first})",
                    Location(self.document.path, key_node.start_mark.line + 1),
                )
            self.document.lines[child] = key_node.start_mark.line + 1
            explicit[key] = self.convert(value_node, child)
        return {**merged, **explicit}

    def _merge_sources(self, node: yaml.Node, path: _Path) -> dict[str, _Yaml]:
        """``<<: *a`` or ``<<: [*a, *b]`` (earlier mappings win)."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, _Yaml] = {}
        for source in sources:
            value = self.convert(source, path)
            if not isinstance(value, dict):
                raise self.document.error(path, "a << merge key needs a mapping or mappings")
            for name, item in value.items():
                merged.setdefault(name, item)
        return merged

    def _key(self, node: yaml.Node, path: _Path) -> str:
        if isinstance(node, yaml.ScalarNode):
            key = _scalar(node, self.document, path)
            if isinstance(key, str):
                return key
        where = _dotted(path) or "the top level"
        shown = node.value if isinstance(node, yaml.ScalarNode) else "a collection"
        raise ComposeError(
            f"non-string key in {where}: {shown!r}",
            Location(self.document.path, node.start_mark.line + 1),
        )


def _is_merge_key(node: yaml.Node) -> bool:
    return (
        isinstance(node, yaml.ScalarNode)
        and node.value == "<<"
        and node.tag in (_PLAIN, _YAML_TAG + "merge")
    )


def _scalar(node: yaml.Node, document: _Document, path: _Path) -> _Yaml:
    """A scalar's value by go-yaml v3's rules for plain, quoted and tagged scalars."""
    text: str = node.value
    tag: str = node.tag
    if tag == _PLAIN or tag in ("!", "!override"):
        return _plain_scalar(text)
    if tag == "!reset":
        return None
    if not tag.startswith(_YAML_TAG):
        return text  # unknown local tags leave the text as it is
    kind = tag[len(_YAML_TAG) :]
    if kind == "str":
        return text
    if kind == "binary":
        return _binary(text, document, path)
    value = _plain_scalar(text)
    expected: dict[str, tuple[type, ...]] = {
        "null": (type(None),),
        "bool": (bool,),
        "int": (int,),
        "float": (float, int),
        "timestamp": (_Timestamp,),
    }
    if kind in expected and not isinstance(value, expected[kind]):
        raise document.error(path, f"cannot read {text!r} as !!{kind}")
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _binary(text: str, document: _Document, path: _Path) -> str:
    try:
        return base64.b64decode("".join(text.split()), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        raise document.error(path, "invalid !!binary value") from None


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_BOOLS["FALSE"] = False
_SPECIAL_FLOATS = {
    ".inf": math.inf,
    ".Inf": math.inf,
    ".INF": math.inf,
    "+.inf": math.inf,
    "+.Inf": math.inf,
    "+.INF": math.inf,
    "-.inf": -math.inf,
    "-.Inf": -math.inf,
    "-.INF": -math.inf,
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_GO_INT = re.compile(
    r"(?P<sign>[-+]?)(?:0[xX](?P<hex>[0-9a-fA-F]+)|0[bB](?P<bin>[01]+)|0[oO](?P<oct>[0-7]+)"
    r"|(?P<legacy_oct>0[0-7]*)|(?P<dec>[1-9][0-9]*))\Z"
)
_TIMESTAMPS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})\Z"),
    re.compile(
        r"(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?"
        r"(?:Z|[-+]\d{2}:\d{2})\Z"
    ),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?\Z"),
)
_INT64 = range(-(2**63), 2**64)  # go-yaml tries int64, then uint64


def _plain_scalar(text: str) -> _Yaml:
    """go-yaml v3's ``resolve`` for an untagged plain scalar."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    first = text[0]
    if first == ".":
        return _go_parse_float(text, text)
    if not (first.isdigit() and first.isascii()) and first not in "+-":
        return text
    if _is_timestamp(text):
        return _Timestamp(text)
    plain = text.replace("_", "")
    number = _go_parse_int(plain)
    if number is not None:
        return number
    if _YAML_FLOAT.match(plain):
        return _go_parse_float(plain, text)
    return text


def _go_parse_int(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 0, 64)`` then ``ParseUint``: None when neither reads it."""
    match = _GO_INT.match(text)
    if match is None:
        return None
    sign = match.group("sign")
    for group, base in (("hex", 16), ("bin", 2), ("oct", 8), ("legacy_oct", 8), ("dec", 10)):
        digits = match.group(group)
        if digits is not None:
            value = int(digits, base) * (-1 if sign == "-" else 1)
            # ParseUint (for values past int64) takes no sign at all
            in_range = value in _INT64 and (value < 2**63 or not sign)
            return value if in_range else None
    return None


def _go_parse_float(text: str, original: str) -> _Yaml:
    """Go's ``strconv.ParseFloat``: out-of-range values are not floats (the text stays)."""
    try:
        value = float(text)
    except ValueError:
        return original
    return original if math.isinf(value) else value


def _is_timestamp(text: str) -> bool:
    for pattern in _TIMESTAMPS:
        match = pattern.match(text)
        if match is None:
            continue
        numbers = [int(part) for part in match.groups()]
        try:
            datetime.datetime(*numbers)  # type: ignore[arg-type]
        except ValueError:
            return False
        return True
    return False


def _describe(value: _Yaml) -> str:
    """A value's YAML type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({_go_string(value)})"
    if isinstance(value, _Timestamp):
        return f"a timestamp ({value.text})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _go_string(value: bool | int | float) -> str:
    """How compose-go prints a YAML number or boolean as text (Go's ``%v``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _go_float(value)


def _go_float(value: float) -> str:
    """Go's ``%v`` for a float64: shortest digits, exponent form below 1e-4 or from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    exponent_digits = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(str(digit) for digit in exponent_digits.digits)
    assert isinstance(exponent_digits.exponent, int)
    point = len(digits) + exponent_digits.exponent  # the decimal point's position in digits
    exponent = point - 1
    if exponent < -4 or exponent >= 6:  # strconv's %g with the shortest digits
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


# ---------------------------------------------------------------- project variables


def _project_variables(project_dir: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables compose interpolates with: the ``.env`` file, overridden by environ."""
    dotenv_path = os.path.join(project_dir, ".env")
    if not os.path.isfile(dotenv_path):
        return dict(environ)
    text = _read_text(dotenv_path, ".env file")
    try:
        values = parse_dotenv(text, environ)
    except InterpolationError as error:
        raise ComposeError(error.reason, Location(dotenv_path, error.line)) from None
    return {**values, **environ}


def _enabled_profiles(profiles: Sequence[str], variables: Mapping[str, str]) -> frozenset[str]:
    if profiles:
        return frozenset(profiles)
    listed = variables.get("COMPOSE_PROFILES", "").split(",")
    return frozenset(name.strip() for name in listed if name.strip())


# ------------------------------------------------------------------ service layer


@dataclass(frozen=True)
class _EnvFile:
    path: str
    required: bool
    raw: bool
    declared_at: Location


@dataclass(frozen=True)
class _BuildDef:
    """A ``build:`` section as written (None: the key is absent), before defaults."""

    context: str | None = None
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: tuple[tuple[str, str | None], ...] = ()
    target: str | None = None
    network: str | None = None
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Extends:
    service: str
    file: str | None  # absolute, or None for the same file
    declared_at: Location


@dataclass(frozen=True)
class _ServiceDef:
    """One service's keys that parity reads, checked and with paths made absolute."""

    name: str
    declared_at: Location
    image: str | None = None
    build: _BuildDef | None = None
    environment: tuple[tuple[str, str | None], ...] = ()
    env_files: tuple[_EnvFile, ...] = ()
    profiles: tuple[str, ...] = ()
    platform: str | None = None
    extends: _Extends | None = None
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    working_dir: str | None = None


def _services_mapping(document: _Document) -> dict[str, _Yaml]:
    services = document.data.get("services")
    if services is None:
        return {}
    if not isinstance(services, dict):
        raise document.error(("services",), f"must be a mapping, not {_describe(services)}", "")
    return services


def _service_names(document: _Document) -> list[str]:
    names = list(_services_mapping(document))
    for name in names:
        if not _SERVICE_NAME.match(name):
            raise document.error(
                ("services", name), "a service name may hold only letters, digits, '.', '_', '-'"
            )
    return names


def _resolve_extends(
    reader: _Reader, document: _Document, name: str, chain: tuple[tuple[str, str], ...]
) -> _ServiceDef:
    """The service with its ``extends`` chain merged in (compose's merge rules)."""
    definition = _ServiceParser(document, name).parse()
    extends = definition.extends
    if extends is None:
        return definition
    link = (document.path, name)
    if link in chain:
        cycle = " -> ".join(f"{service} ({path})" for path, service in (*chain, link))
        raise ComposeError(f"extends makes a cycle: {cycle}", extends.declared_at)
    if extends.file is not None and not os.path.isfile(extends.file):
        raise ComposeError(
            f"services.{name}.extends: file {extends.file} not found", extends.declared_at
        )
    base_document = reader.document(extends.file) if extends.file else document
    if extends.service not in _services_mapping(base_document):
        raise ComposeError(
            f"service {name!r} extends {extends.service!r}, which {base_document.path} "
            f"does not define (services: {', '.join(_services_mapping(base_document))})",
            extends.declared_at,
        )
    base = _resolve_extends(reader, base_document, extends.service, (*chain, link))
    return _merge(base, definition)


def _merge(base: _ServiceDef, override: _ServiceDef) -> _ServiceDef:
    """compose's merge: scalars replaced, lists appended, build merged key by key."""
    return replace(
        override,
        image=_pick(override.image, base.image),
        build=_merge_build(base.build, override.build),
        environment=base.environment + override.environment,
        env_files=base.env_files + override.env_files,
        profiles=base.profiles + override.profiles,
        platform=_pick(override.platform, base.platform),
        extends=None,
        entrypoint=_pick(override.entrypoint, base.entrypoint),
        command=_pick(override.command, base.command),
        working_dir=_pick(override.working_dir, base.working_dir),
    )


_T = TypeVar("_T")


def _pick(override: _T | None, base: _T | None) -> _T | None:
    return base if override is None else override


def _merge_build(base: _BuildDef | None, override: _BuildDef | None) -> _BuildDef | None:
    if base is None or override is None:
        return override if base is None else base
    return _BuildDef(
        context=_pick(override.context, base.context),
        dockerfile=_pick(override.dockerfile, base.dockerfile),
        dockerfile_inline=_pick(override.dockerfile_inline, base.dockerfile_inline),
        args=base.args + override.args,
        target=_pick(override.target, base.target),
        network=_pick(override.network, base.network),
        platforms=base.platforms + override.platforms,
    )


class _ServiceParser:
    """Reads one service mapping, naming the file, service, key and line on bad input."""

    def __init__(self, document: _Document, name: str) -> None:
        self.document = document
        self.name = name
        self.path: _Path = ("services", name)

    def parse(self) -> _ServiceDef:
        raw = _services_mapping(self.document)[self.name]
        if not isinstance(raw, dict):
            raise self.document.error(self.path, f"must be a mapping, not {_describe(raw)}", "")
        return _ServiceDef(
            name=self.name,
            declared_at=self.document.location(self.path),
            image=self._optional_string(raw, "image"),
            build=self._build(raw.get("build")),
            environment=self._key_values(raw.get("environment"), (*self.path, "environment")),
            env_files=self._env_files(raw.get("env_file")),
            profiles=self._strings(raw.get("profiles"), (*self.path, "profiles")),
            platform=self._optional_string(raw, "platform"),
            extends=self._extends(raw.get("extends")),
            entrypoint=self._command(raw.get("entrypoint"), (*self.path, "entrypoint")),
            command=self._command(raw.get("command"), (*self.path, "command")),
            working_dir=self._optional_string(raw, "working_dir"),
        )

    def _command(self, value: _Yaml, path: _Path) -> tuple[str, ...] | None:
        """``entrypoint``/``command``: a list of words, or a string split as a shell would."""
        if isinstance(value, str):
            try:
                return tuple(shlex.split(value))
            except ValueError as error:
                raise self._error(path, f"cannot be split into words ({error})") from None
        return None if value is None else self._strings(value, path)

    def _error(self, path: _Path, message: str) -> ComposeError:
        return ComposeError(f"{_dotted(path)} {message}", self.document.location(path))

    def _optional_string(self, raw: Mapping[str, _Yaml], key: str, *parents: str) -> str | None:
        value = raw.get(key)
        if value is None or isinstance(value, str):
            return value
        path = (*self.path, *parents, key)
        raise self._error(path, f"must be a string, not {_describe(value)}")

    def _strings(self, value: _Yaml, path: _Path) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._error(path, f"must be a list of strings, not {_describe(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self._error((*path, index), f"must be a string, not {_describe(item)}")
        return tuple(item for item in value if isinstance(item, str))

    def _key_values(self, value: _Yaml, path: _Path) -> tuple[tuple[str, str | None], ...]:
        """compose's list-or-dict: ``[K=V, K]`` or ``{K: V, K: null}``; numbers become text."""
        if value is None:
            return ()
        if isinstance(value, dict):
            return tuple(self._dict_entry(key, item, (*path, key)) for key, item in value.items())
        if isinstance(value, list):
            return tuple(self._list_entry(item, (*path, index)) for index, item in enumerate(value))
        raise self._error(path, f"must be a mapping or a list, not {_describe(value)}")

    def _dict_entry(self, key: str, value: _Yaml, path: _Path) -> tuple[str, str | None]:
        if value is None or isinstance(value, str):
            return key, value
        if isinstance(value, (bool, int, float)):
            return key, _go_string(value)
        raise self._error(
            path, f"must be a string, number, boolean or null, not {_describe(value)}"
        )

    def _list_entry(self, item: _Yaml, path: _Path) -> tuple[str, str | None]:
        if not isinstance(item, str):
            raise self._error(path, f"must be a string, not {_describe(item)}")
        key, has_value, value = item.partition("=")
        return key, (value if has_value else None)

    def _build(self, value: _Yaml) -> _BuildDef | None:
        path = (*self.path, "build")
        if value is None:
            return None
        if isinstance(value, str):
            return _BuildDef(context=self._context(value))
        if not isinstance(value, dict):
            raise self._error(path, f"must be a string or a mapping, not {_describe(value)}")
        context = self._optional_string(value, "context", "build")
        inline = self._optional_string(value, "dockerfile_inline", "build")
        dockerfile = self._optional_string(value, "dockerfile", "build")
        if inline is not None and dockerfile is not None:
            raise self._error(path, "sets both dockerfile and dockerfile_inline")
        return _BuildDef(
            context=None if context is None else self._context(context),
            dockerfile=dockerfile,
            dockerfile_inline=inline,
            args=self._key_values(value.get("args"), (*path, "args")),
            target=self._optional_string(value, "target", "build"),
            network=self._optional_string(value, "network", "build"),
            platforms=self._strings(value.get("platforms"), (*path, "platforms")),
        )

    def _context(self, context: str) -> str | None:
        """A local context made absolute from this file's directory; remote ones as written."""
        if not context:
            return None
        if "://" in context or context.startswith(_REMOTE_CONTEXT_PREFIXES):
            return context
        return _absolute(self.document.directory, context)

    def _env_files(self, value: _Yaml) -> tuple[_EnvFile, ...]:
        path = (*self.path, "env_file")
        if value is None:
            return ()
        if isinstance(value, str):
            return (self._env_file(value, True, None, path),)
        if not isinstance(value, list):
            raise self._error(path, f"must be a string or a list, not {_describe(value)}")
        return tuple(self._env_file_entry(item, (*path, index)) for index, item in enumerate(value))

    def _env_file_entry(self, item: _Yaml, path: _Path) -> _EnvFile:
        if isinstance(item, str):
            return self._env_file(item, True, None, path)
        if not isinstance(item, dict):
            raise self._error(path, f"must be a string or a mapping, not {_describe(item)}")
        file_path = item.get("path")
        if not isinstance(file_path, str):
            raise self._error((*path, "path"), f"must be a string, not {_describe(file_path)}")
        required = _boolean(item.get("required", True))
        if required is None:
            raise self._error((*path, "required"), "must be true or false")
        env_format = item.get("format")
        if env_format is not None and not isinstance(env_format, str):
            raise self._error((*path, "format"), f"must be a string, not {_describe(env_format)}")
        return self._env_file(file_path, required, env_format, path)

    def _env_file(
        self, file_path: str, required: bool, env_format: str | None, path: _Path
    ) -> _EnvFile:
        if env_format not in (None, "", "dotenv", "raw"):
            raise self._error(path, f"uses the unsupported env_file format {env_format!r}")
        return _EnvFile(
            path=_absolute(self.document.directory, file_path),
            required=required,
            raw=env_format == "raw",
            declared_at=self.document.location(path),
        )

    def _extends(self, value: _Yaml) -> _Extends | None:
        path = (*self.path, "extends")
        if value is None:
            return None
        if isinstance(value, str):
            return _Extends(value, None, self.document.location(path))
        if not isinstance(value, dict):
            raise self._error(path, f"must be a string or a mapping, not {_describe(value)}")
        base = value.get("service")
        if not isinstance(base, str):
            raise self._error((*path, "service"), f"must be a string, not {_describe(base)}")
        file_path = self._optional_string(value, "file", "extends")
        absolute = None if file_path is None else _absolute(self.document.directory, file_path)
        return _Extends(base, absolute, self.document.location(path))


def _boolean(value: _Yaml) -> bool | None:
    """A YAML boolean, or compose's cast of an interpolated "true" / "false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _absolute(directory: str, path: str) -> str:
    """compose-go's absPath: ``~`` expanded, absolute kept as written, relative joined."""
    if path.startswith("~"):
        path = os.path.join(os.path.expanduser("~"), path[1:].lstrip("/"))
    if os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(directory, path))


# ------------------------------------------------------------------ final values


def _finish_service(
    reader: _Reader, definition: _ServiceDef, enabled: frozenset[str], project_dir: str
) -> ComposeService:
    profiles = tuple(dict.fromkeys(definition.profiles))
    active = not profiles or "*" in enabled or not enabled.isdisjoint(profiles)
    return ComposeService(
        name=definition.name,
        image=definition.image,
        build=_finish_build(definition.build, reader.variables, project_dir),
        environment=_environment(definition, reader, strict=active),
        profiles=profiles,
        platform=definition.platform,
        active=active,
        declared_at=definition.declared_at,
        entrypoint=definition.entrypoint,
        command=definition.command,
        working_dir=definition.working_dir,
    )


def _finish_build(
    build: _BuildDef | None, variables: Mapping[str, str], project_dir: str
) -> ComposeBuild | None:
    if build is None:
        return None
    context = build.context or project_dir
    dockerfile = build.dockerfile or "Dockerfile"
    if os.path.isabs(context) and not os.path.isabs(dockerfile):
        dockerfile = os.path.normpath(os.path.join(context, dockerfile))
    args = _last_wins(
        (key, variables.get(key) if value is None else value) for key, value in build.args
    )
    return ComposeBuild(
        context=context,
        dockerfile=dockerfile,
        args=tuple((key, value) for key, value in args if value is not None),
        target=build.target,
        network=build.network,
        platforms=build.platforms,
        dockerfile_inline=build.dockerfile_inline,
    )


def _last_wins(
    entries: Iterable[tuple[str, str | None]],
) -> tuple[tuple[str, str | None], ...]:
    """Entries with repeated keys collapsed: the first position, the last value."""
    merged: dict[str, str | None] = {}
    for key, value in entries:
        merged[key] = value
    return tuple(merged.items())


def _environment(
    definition: _ServiceDef, reader: _Reader, *, strict: bool
) -> tuple[tuple[str, str | None], ...]:
    """``env_file`` files in order, then ``environment`` on top, as compose resolves them.

    compose reads no env_file of a service whose profiles are off, so for those
    (``strict=False``) an unreadable env_file is a warning, not an error.
    """
    from_files: dict[str, str] = {}
    for env_file in definition.env_files:
        try:
            from_files = _read_env_file(env_file, from_files, reader)
        except ComposeError as error:
            if strict:
                raise
            reader.warnings.append(f"service {definition.name!r} (profile not enabled): {error}")
    declared = (
        (key, reader.variables.get(key) if value is None else value)
        for key, value in definition.environment
    )
    return _last_wins(itertools.chain(from_files.items(), declared))


def _read_env_file(env_file: _EnvFile, known: dict[str, str], reader: _Reader) -> dict[str, str]:
    """``known`` (the service's earlier env_files) updated with this file's values.

    In the file, ``${VAR}`` looks in the project's variables first, then in ``known`` and
    the lines above, as compose-go does.
    """
    if not os.path.exists(env_file.path):
        if env_file.required:
            raise ComposeError(f"env file {env_file.path} not found", env_file.declared_at)
        return known
    text = _read_text(env_file.path, "env file")
    try:
        if env_file.raw:
            return {**known, **parse_raw_env(text, {**known, **reader.variables})}
        return parse_dotenv(text, reader.variables, reader.note_missing, known=known)
    except InterpolationError as error:
        raise ComposeError(error.reason, Location(env_file.path, error.line)) from None

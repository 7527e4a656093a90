"""Poetry's version-constraint language, read once for every Poetry source.

``[tool.poetry]`` tables (pyproject.toml) and poetry.lock (its dependencies' constraints
and ``python-versions``) both go through :func:`poetry_constraint_to_specifiers`, which
reads a constraint exactly as poetry-core's ``parse_constraint`` does (tests check it
against poetry-core itself with hypothesis) and gives PEP 440 specifier sets, one per
``||`` branch.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import VERSION_PATTERN, InvalidVersion, Version

_ANY = re.compile(r"^v?[xX*](\.[xX*])*$", re.IGNORECASE)
_VERSION = rf"(?P<version>{VERSION_PATTERN})"
_TILDE = re.compile(rf"^~(?!=)\s*{_VERSION}$", re.VERBOSE | re.IGNORECASE)
_TILDE_PEP440 = re.compile(rf"^~=\s*{_VERSION}$", re.VERBOSE | re.IGNORECASE)
_CARET = re.compile(rf"^\^\s*{_VERSION}$", re.VERBOSE | re.IGNORECASE)
_X_RANGE = re.compile(r"^(?P<op>!=|==)?\s*v?(?P<version>(\d+)(?:\.(\d+))?(?:\.(\d+))?)(?:\.\*)+$")
_BASIC = re.compile(
    rf"^(?P<op><>|!=|>=?|<=?|==?)?\s*(?P<version>{VERSION_PATTERN}|dev)(?P<wildcard>\.\*)?$",
    re.VERBOSE | re.IGNORECASE,
)
# Poetry splits an AND list on commas or spaces, but not right after an operator nor
# around the hyphen of a version such as ``1.0-beta``.
_AND_SPLIT = re.compile(r"(?<!^)(?<![\^~=>< ,]) *(?<!-)[, ](?!-) *(?!,|$)")


def poetry_constraint_to_specifiers(text: str) -> tuple[str, ...]:
    """Translate a Poetry version constraint into PEP 440 specifier sets, one per OR branch.

    Mirrors poetry-core's ``parse_constraint``: ``||`` (or ``|``) separates alternatives,
    commas or spaces separate constraints that must all hold. ``^1.2.3`` ->
    ``>=1.2.3,<2.0.0``; ``^0.2.3`` -> ``>=0.2.3,<0.3.0``; ``^0.0.3`` -> ``>=0.0.3,<0.0.4``;
    ``^1`` -> ``>=1,<2``; ``~1.2.3`` -> ``>=1.2.3,<1.3.0``; ``~1`` -> ``>=1,<2``;
    ``1.*`` -> ``==1.*``; ``~=`` and plain comparisons keep their PEP 440 meaning; ``*``
    (or a branch that allows anything) gives ``("",)``. Raises ValueError for text Poetry
    rejects or that PEP 440 cannot express (such as ``>=1.0+local``).
    """
    branches = [_and_branch(branch) for branch in re.split(r"\s*\|\|?\s*", text.strip())]
    if "" in branches:
        return ("",)
    return tuple(dict.fromkeys(branches))


def _and_branch(branch: str) -> str:
    """One OR branch (constraints that must all hold) as a PEP 440 specifier set."""
    branch = branch.rstrip(",").rstrip()
    specifiers = [spec for part in _AND_SPLIT.split(branch) for spec in _single_constraint(part)]
    joined = ",".join(specifiers)
    try:
        SpecifierSet(joined)
    except InvalidSpecifier:
        raise ValueError(f"PEP 440 cannot express constraint {branch!r}") from None
    return joined


def _single_constraint(text: str) -> list[str]:
    """One Poetry constraint (no ``,`` or ``||``) as PEP 440 specifiers; [] means any."""
    if _ANY.match(text):
        return []
    for pattern, translate in (
        (_TILDE, _tilde),
        (_TILDE_PEP440, _tilde_pep440),
        (_CARET, _caret),
        (_X_RANGE, _x_range),
        (_BASIC, _basic),
    ):
        found = pattern.match(text)
        if found:
            return translate(found)
    raise ValueError(f"could not parse version constraint {text!r}")


def _parse_version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ValueError(f"invalid version {text!r}") from None


def _tilde(found: re.Match[str]) -> list[str]:
    version = _parse_version(found.group("version"))
    bump_at = 0 if len(version.release) == 1 else 1
    return [f">={version}", f"<{_bumped(version, bump_at)}"]


def _tilde_pep440(found: re.Match[str]) -> list[str]:
    version = _parse_version(found.group("version"))
    if len(version.release) >= 2:
        return [f"~={version}"]
    return [f">={version}", f"<{_bumped(version, 0)}"]  # ~=1: Poetry reads it as ^1


def _caret(found: re.Match[str]) -> list[str]:
    """``^V``: up to the next change of V's left-most non-zero part (or its last part)."""
    version = _parse_version(found.group("version"))
    release = version.release
    if release[0] > 0 or len(release) == 1:
        bump_at = 0
    elif release[1] > 0 or len(release) == 2:
        bump_at = 1
    else:
        bump_at = 2
    return [f">={version}", f"<{_bumped(version, bump_at)}"]


def _bumped(version: Version, index: int) -> str:
    """V's release (epoch kept, suffixes dropped) with part ``index`` + 1 and zeros after.

    The release keeps V's precision, growing only when ``index`` is past its end.
    """
    parts = list(version.release) + [0] * (index + 1 - len(version.release))
    parts[index] += 1
    parts[index + 1 :] = [0] * (len(parts) - index - 1)
    epoch = f"{version.epoch}!" if version.epoch else ""
    return epoch + ".".join(map(str, parts))


def _x_range(found: re.Match[str]) -> list[str]:
    operator = found.group("op") or "=="
    release = ".".join(str(int(part)) for part in found.group("version").split("."))
    return [f"{operator}{release}.*"]


def _basic(found: re.Match[str]) -> list[str]:
    operator = found.group("op") or "=="
    text = found.group("version")
    version = _parse_version("0.0-dev" if text == "dev" else text)
    if operator in ("<", "<=", ">", ">="):
        return [f"{operator}{version}"]  # Poetry ignores a wildcard on these
    if found.group("wildcard"):
        return _wildcard(operator, version)
    if operator == "!=":
        return [f"!={version}"]
    return [f"=={version}"]  # "=", "==" and (as in poetry-core) "<>" mean equality


def _wildcard(operator: str, version: Version) -> list[str]:
    """``==V.*`` / ``!=V.*`` for a V the x-range pattern did not take (four parts, epoch)."""
    plain = version.pre is None and version.post is None and version.dev is None
    if not plain or version.local is not None:
        raise ValueError(f"PEP 440 cannot express {operator}{version}.*")
    return [f"{operator}{version}.*"]


def python_constraint_to_marker(constraint: str) -> str | None:
    """A Poetry ``python = "..."`` constraint as a PEP 508 marker (None for any Python).

    Versions with three or more parts compare ``python_full_version``, shorter ones
    ``python_version``, as Poetry writes them. Raises ValueError on a bad constraint.
    """
    branches = []
    for specifiers in poetry_constraint_to_specifiers(constraint):
        if not specifiers:
            return None
        clauses = [_python_clause(spec) for spec in specifiers.split(",")]
        branches.append(" and ".join(clauses))
    if len(branches) == 1:
        return branches[0]
    return " or ".join(f"({branch})" if " and " in branch else branch for branch in branches)


def _python_clause(specifier: str) -> str:
    """``>=3.8`` -> ``python_version >= '3.8'``; ``>=3.8.1`` uses ``python_full_version``."""
    operator = specifier[: len(specifier) - len(specifier.lstrip("<>=!~"))]
    version = specifier[len(operator) :]
    precision = len(_parse_version(version.removesuffix(".*")).release)
    variable = "python_full_version" if precision >= 3 else "python_version"
    return f"{variable} {operator} '{version}'"


def constraint_allows(constraint: str, version: str) -> bool:
    """Whether ``version`` satisfies the Poetry ``constraint`` (pre-releases included).

    A constraint that cannot be read, or a version that is not PEP 440, allows it: this is
    used to choose among locked versions, never to raise drift.
    """
    try:
        branches = poetry_constraint_to_specifiers(constraint)
        return any(SpecifierSet(branch).contains(version, prereleases=True) for branch in branches)
    except (ValueError, InvalidSpecifier, InvalidVersion):
        return True


def specifier_pairs(specifiers: str) -> list[tuple[str, str]]:
    """One branch (``>=1.2,<2``) as (operator, version) pairs; ``~=V`` as its two bounds."""
    pairs: list[tuple[str, str]] = []
    for specifier in filter(None, specifiers.split(",")):
        operator = specifier[: len(specifier) - len(specifier.lstrip("<>=!~"))]
        version = specifier[len(operator) :]
        if operator == "~=":
            parsed = _parse_version(version)
            pairs += [(">=", version), ("<", _bumped(parsed, len(parsed.release) - 2))]
        else:
            pairs.append((operator, version))
    return pairs

"""Compose's interpolation and .env syntax (parity.sources.interpolation).

Every expected value below was checked against ``docker compose config`` (2.40.3);
tests/test_compose_source.py repeats that comparison on generated input when a
compose v2 CLI is installed.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity.errors import SourceError
from parity.sources.interpolation import (
    InterpolationError,
    interpolate,
    parse_dotenv,
    parse_raw_env,
)

VARIABLES = {"NAME": "web", "EMPTY": "", "TAG": "1.2", "lower": "small"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # $VAR and ${VAR}
        ("$NAME", "web"),
        ("${NAME}", "web"),
        ("a${NAME}b$NAME-c", "awebbweb-c"),
        ("$NAME_suffix", ""),  # the name runs on: NAME_suffix is unset
        ("${lower}", "small"),  # names are case-sensitive
        ("$UNSET", ""),
        ("${UNSET}", ""),
        # :- and -
        ("${UNSET:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${NAME:-fallback}", "web"),
        ("${UNSET-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${NAME-fallback}", "web"),
        ("${UNSET:-}", ""),
        # :+ and +
        ("${NAME:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${NAME+alt}", "alt"),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        # :? and ? when set
        ("${NAME:?must be set}", "web"),
        ("${NAME?must be set}", "web"),
        ("${EMPTY?only unset fails}", ""),
        # nesting
        ("${UNSET:-${NAME}}", "web"),
        ("${UNSET:-${ALSO_UNSET:-${TAG}}}", "1.2"),
        ("${UNSET:-${NAME}${TAG}}", "web1.2"),
        ("${NAME:+[${TAG}]}", "[1.2]"),
        ("${UNSET:-x}}", "x}"),
        ("${UNSET:-a} and ${NAME}", "a and web"),
        ("${NAME:?x} ${UNSET:-y}", "web y"),
        ("${UNSET-a:?b}", "a:?b"),  # the first operator wins; the rest is the default
        # compose-go's brace counting quirks
        ("${UNSET:-{x}y}", "{x}y"),
        ("${UNSET:-{}}x}", "{}}x"),
        # $$ and lone dollars
        ("$$", "$"),
        ("$$NAME", "$NAME"),
        ("$${NAME}", "${NAME}"),
        ("$$$NAME", "$web"),
        ("5$ or $1 or $-x or $", "5$ or $1 or $-x or $"),
        ("no dollars at all", "no dollars at all"),
        # Go's case folding: the Kelvin sign and long s are name characters
        ("$\u212a-$\u017f.", "-."),
    ],
)
def test_interpolate(template: str, expected: str) -> None:
    assert interpolate(template, VARIABLES) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "${UNSET:?set UNSET first}",
            "required variable UNSET is missing a value: set UNSET first",
        ),
        (
            "${EMPTY:?not empty please}",
            "required variable EMPTY is missing a value: not empty please",
        ),
        ("${UNSET?}", "required variable UNSET is missing a value"),
        ("${UNSET:?}", "required variable UNSET is missing a value"),
        ("${UNSET:?${NAME} needs it}", "required variable UNSET is missing a value: web needs it"),
        # compose-go interpolates a default before it looks at the variable
        ("${NAME:-${UNSET?inner}}", "required variable UNSET is missing a value: inner"),
        ("${NAME:+${UNSET:?alt}}", "required variable UNSET is missing a value: alt"),
        ("tail ${UNSET:-ok} ${OTHER?second}", "required variable OTHER is missing a value: second"),
        ("${", "invalid interpolation format"),
        ("${}", "invalid interpolation format"),
        ("${NAME", "invalid interpolation format"),
        ("${UNSET:-x", "invalid interpolation format"),
        ("${a b}", "invalid interpolation format"),
        ("${1X}", "invalid interpolation format"),
        ("${NAME:}", "invalid interpolation format"),
        ("${UNSET:-${NAME}", "invalid interpolation format"),
        # a newline ends the greedy match, as Go's "." does not cross it
        ("${UNSET:-a\nb}", "invalid interpolation format"),
    ],
)
def test_interpolate_errors(template: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate(template, VARIABLES)
    assert message in str(caught.value)
    assert isinstance(caught.value, SourceError)


def test_interpolate_reports_each_unset_variable() -> None:
    missing: list[str] = []
    interpolate("$A ${B} ${C:-x} ${D-y} ${NAME} $A", VARIABLES, missing.append)
    assert missing == ["A", "B", "A"]  # defaults and set variables are not reported


@given(st.text(alphabet="${}:-+?_AaN1 \n\t.x", max_size=40))
def test_interpolate_fuzz_gives_text_or_interpolation_error(template: str) -> None:
    with contextlib.suppress(InterpolationError):
        assert isinstance(interpolate(template, VARIABLES), str)


@given(st.text(max_size=60), st.dictionaries(st.text(max_size=5), st.text(max_size=5)))
def test_interpolate_fuzz_any_text(template: str, variables: dict[str, str]) -> None:
    with contextlib.suppress(InterpolationError):
        assert isinstance(interpolate(template, variables), str)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    template = "${A:-" * 3000 + "x" + "}" * 3000
    with contextlib.suppress(InterpolationError):
        interpolate(template, {})


# ------------------------------------------------------------------ .env files

DOTENV = r"""# a comment line
A=x#y
B=x #trailing comment
C="q\"uo\\te\n\$HOME\0123\01 ${A}"
D='single ${A} \' \n'
export E=exported
F = spaced
G: yaml style
H="multi
line"  # comment after the quote
I=${A}-${B}-${NOPE:-default}
J=$$literal
K=\$not-an-escape
L="x"junk
M.N-O[1]=odd key
INHERITED
Q="ab\"cd"
R=  lead and trail<three spaces>
S=$FROM_OUTSIDE
T="\a\b\f\r\t\v|"
""".replace("<three spaces>", "   ")


def test_parse_dotenv_compose_syntax() -> None:
    outside = {"INHERITED": "from outside", "FROM_OUTSIDE": "outside", "junk": "J"}
    assert parse_dotenv(DOTENV, outside) == {
        "A": "x#y",
        "B": "x",
        "C": 'q"uo\\te\n$HOMES\\1 x#y',
        "D": "single ${A} ' \\n",
        "E": "exported",
        "F": "spaced",
        "G": "yaml style",
        "H": "multi\nline",
        "I": "x#y-x-default",
        "J": "$literal",
        "K": "\\-an-escape",  # unquoted: no escapes, and $not is an (unset) variable
        "L": "x",
        "junk": "J",  # text after a closing quote starts a new statement
        "M.N-O[1]": "odd key",
        "INHERITED": "from outside",
        "Q": 'ab"cd',
        "R": "lead and trail",
        "S": "outside",
        "T": "\a\b\f\r\t\v|",
    }


def test_parse_dotenv_lookup_order() -> None:
    """Outer variables first, then keys read so far (``known``, then lines above)."""
    text = "X=file\nY=${X}\nZ=${P}\nW=${EARLIER}\n"
    assert parse_dotenv(text, {"X": "outer"}, known={"P": "known", "EARLIER": "e"}) == {
        "P": "known",
        "EARLIER": "e",
        "X": "file",
        "Y": "outer",
        "Z": "known",
        "W": "e",
    }


def test_parse_dotenv_bare_key_without_value_outside_is_skipped() -> None:
    assert parse_dotenv("ONLY_NAME\nA=1\n", {}) == {"A": "1"}


def test_parse_dotenv_strips_bom_and_handles_crlf() -> None:
    assert parse_dotenv("\ufeffA=1\r\nB='2'\r\n", {}) == {"A": "1", "B": "2"}


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("A=1\nBAD KEY=2\n", "key cannot contain a space", 2),
        ("A=1\n\nB$=2\n", "unexpected character '$' in variable name", 3),
        ('A=1\nB="never closed\nC=3\n', "unterminated quoted value", 2),
        ("A=1\nB=${REQUIRED?needed here}\n", "required variable REQUIRED is missing a value", 2),
        ("A=${\n", "invalid interpolation format", 1),
        ("export ", "zero length string", 1),
    ],
)
def test_parse_dotenv_errors_name_the_line(text: str, message: str, line: int) -> None:
    with pytest.raises(InterpolationError) as caught:
        parse_dotenv(text, {})
    assert message in str(caught.value)
    assert caught.value.line == line


def test_parse_raw_env_takes_values_literally() -> None:
    text = 'A="q u"\nB=${A} #c\nD\n  E= x \n#x=1\nF=a=b\nG\n\n\t H=1\n'
    assert parse_raw_env(text, {"D": "dd", "A": "zz"}) == {
        "A": '"q u"',
        "B": "${A} #c",
        "D": "dd",
        "E": " x ",
        "F": "a=b",
        "H": "1",
    }


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("A=1\nexport C=1\n", "'export C' contains whitespaces", 2),
        ("=value\n", "no variable name", 1),
    ],
)
def test_parse_raw_env_errors(text: str, message: str, line: int) -> None:
    with pytest.raises(InterpolationError) as caught:
        parse_raw_env(text, {})
    assert message in str(caught.value)
    assert caught.value.line == line


_ENV_TEXT = st.text(alphabet="AB_=:#$'\"\\{}- \n\texport.[]é0", max_size=80)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_ENV_TEXT)
def test_parse_dotenv_fuzz(text: str) -> None:
    try:
        result = parse_dotenv(text, {"A": "outer"})
    except InterpolationError as error:
        assert error.line is None or error.line >= 1
    else:
        assert all(isinstance(value, str) for value in result.values())


@given(st.text(max_size=120))
def test_parse_dotenv_fuzz_any_text(text: str) -> None:
    with contextlib.suppress(InterpolationError):
        parse_dotenv(text, {})


@given(st.text(max_size=120))
def test_parse_raw_env_fuzz_any_text(text: str) -> None:
    with contextlib.suppress(InterpolationError):
        parse_raw_env(text, {})

"""A small client for the OCI distribution API (manifests and blobs), on requests.

Auth as docker does it: a request goes out anonymous; a ``401`` names the scheme in
``WWW-Authenticate``: ``Basic`` gets the user name and password, ``Bearer`` sends them (or
an identity token) to the realm for a token with pull scope. Plain HTTP is used only for
loopback hosts (as the Docker Engine allows them by default) and the hosts listed in
``$PARITY_INSECURE_REGISTRIES`` (comma-separated ``HOST[:PORT]``); HTTPS is tried first.
Messages name the registry and repository, never a credential or token.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from parity.errors import ParityError, SourceError
from parity.redact import redact_url
from parity.registry.auth import Credentials, find_credentials
from parity.registry.reference import Reference

INSECURE_ENV = "PARITY_INSECURE_REGISTRIES"
CERTS_ENV = "PARITY_DOCKER_CERTS_D"  # docker's certs.d elsewhere (tests; rootless docker)
MANIFEST_CAP = 4 * 1024 * 1024
TIMEOUT = (10.0, 60.0)  # connect, read (seconds between bytes)
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class RegistryError(SourceError):
    """A registry that cannot be reached, refuses, or sends something unusable."""


class StreamBroken(ParityError):
    """A blob's stream ended or failed before its last byte."""


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1, with or without a port."""
    name = host
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def insecure_hosts(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    environ = os.environ if environ is None else environ
    text = environ.get(INSECURE_ENV, "")
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        match.group(1).lower(): match.group(2) if match.group(2) is not None else match.group(3)
        for match in _CHALLENGE_PARAM.finditer(rest)
    }
    return scheme.lower(), params


class RegistryClient:
    """Manifests and blobs of one repository."""

    def __init__(self, reference: Reference, environ: Mapping[str, str] | None = None) -> None:
        self.reference = reference
        self.environ = os.environ if environ is None else environ
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "parity"
        self.subject = f"registry {reference.host}/{reference.repository}"
        self._base: str | None = None
        self._authorization: str | None = None
        self._credentials: Credentials | None = None
        self._credentials_read = False
        self._verify: str | bool = True
        self._use_docker_certificates()

    def _use_docker_certificates(self) -> None:
        """docker's per-registry TLS files: ``/etc/docker/certs.d/HOST[:PORT]/`` holds the
        registry's CA (``*.crt``) and a client certificate (``*.cert`` with its ``*.key``)."""
        root = Path(self.environ.get(CERTS_ENV) or "/etc/docker/certs.d")
        directory = root / self.reference.api_host
        try:
            names = sorted(entry.name for entry in directory.iterdir())
        except OSError:
            return
        authorities = [name for name in names if name.endswith(".crt")]
        if authorities:  # given with each request: $REQUESTS_CA_BUNDLE would win over the session's
            self._verify = str(directory / authorities[0])
        for name in names:
            key = name[: -len(".cert")] + ".key"
            if name.endswith(".cert") and key in names:
                self.session.cert = (str(directory / name), str(directory / key))
                break

    def close(self) -> None:
        self.session.close()

    # --- requests, schemes, auth ----------------------------------------------------------

    def _schemes(self) -> tuple[str, ...]:
        host = self.reference.api_host
        if is_loopback(host) or host in insecure_hosts(self.environ):
            return ("https", "http")
        return ("https",)

    def _send(self, path: str, headers: Mapping[str, str], stream: bool) -> requests.Response:
        all_headers = dict(headers)
        if self._authorization:
            all_headers["Authorization"] = self._authorization
        bases = (
            [self._base]
            if self._base
            else [f"{scheme}://{self.reference.api_host}" for scheme in self._schemes()]
        )
        last: Exception | None = None
        for base in bases:
            try:
                response = self.session.get(
                    base + path,
                    headers=all_headers,
                    stream=stream,
                    timeout=TIMEOUT,
                    verify=self._verify,
                )
            except (requests.exceptions.SSLError, requests.exceptions.ConnectionError) as error:
                last = last if isinstance(last, requests.exceptions.SSLError) else error
                continue
            except requests.RequestException as error:
                raise self._error(f"the registry did not answer: {_reason(error)}") from None
            if response.status_code == 400 and isinstance(last, requests.exceptions.SSLError):
                response.close()  # plain HTTP to a TLS port: the TLS failure is the news
                break
            self._base = base
            return response
        if isinstance(last, requests.exceptions.SSLError):
            raise self._error(
                f"TLS failed ({_tls_reason(last)}); a registry certificate from your own CA "
                f"is trusted from /etc/docker/certs.d/{self.reference.api_host}/ca.crt, as "
                "docker trusts it, or from $REQUESTS_CA_BUNDLE"
            ) from None
        raise self._error(f"the registry does not answer ({_reason(last)})") from None

    def get(self, path: str, accept: str = "", stream: bool = False) -> requests.Response:
        """GET ``/v2/...``; a 401 is answered once with the credentials docker would use."""
        headers = {"Accept": accept} if accept else {}
        response = self._send(path, headers, stream)
        if response.status_code == 401:
            challenge = response.headers.get("WWW-Authenticate", "")
            response.close()
            self._authenticate(challenge)
            response = self._send(path, headers, stream)
            if response.status_code == 401:
                response.close()
                raise self._denied()
        if response.status_code == 403:
            response.close()
            raise self._denied()
        return response

    def credentials(self) -> Credentials | None:
        if not self._credentials_read:
            self._credentials = find_credentials(self.reference.auth_key, self.environ)
            self._credentials_read = True
        return self._credentials

    def _denied(self) -> RegistryError:
        found = self.credentials()
        if found is None:
            return self._error("access denied, and docker has no credentials for this registry")
        where = f" from {found.origin}" if found.origin else ""
        return self._error(f"access denied with the credentials{where} (wrong user or password?)")

    def _authenticate(self, challenge: str) -> None:
        scheme, params = parse_challenge(challenge)
        found = self.credentials()
        if scheme == "basic":
            if found is None or not (found.username or found.secret):
                raise self._denied()
            self._authorization = found.basic
        elif scheme == "bearer" and params.get("realm"):
            self._authorization = "Bearer " + self._token(params, found)
        else:
            raise self._error("the registry asks for an authentication parity does not speak")

    def _token(self, params: Mapping[str, str], found: Credentials | None) -> str:
        realm = params["realm"]
        if not realm.startswith("https://") and not (
            realm.startswith("http://") and self._base and self._base.startswith("http://")
        ):
            raise self._error("the registry's token service is not on HTTPS")
        scope = params.get("scope") or f"repository:{self.reference.repository}:pull"
        query = {"scope": scope, **({"service": params["service"]} if "service" in params else {})}
        try:
            if found is not None and found.identity_token:
                response = self.session.post(
                    realm,
                    data={
                        **query,
                        "grant_type": "refresh_token",
                        "refresh_token": found.identity_token,
                        "client_id": "parity",
                    },
                    timeout=TIMEOUT,
                )
            else:
                auth = (found.username, found.secret) if found is not None else None
                response = self.session.get(realm, params=query, auth=auth, timeout=TIMEOUT)
        except requests.RequestException as error:
            raise self._error(f"the token service did not answer: {_reason(error)}") from None
        if response.status_code in (401, 403):
            raise self._denied()
        if response.status_code != 200:
            raise self._error(f"the token service answered HTTP {response.status_code}")
        try:
            answer = response.json()
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise self._error("the token service sent no token")
        return token

    def _error(self, message: str) -> RegistryError:
        return RegistryError(redact_url(message), self.subject)

    # --- manifests and blobs ----------------------------------------------------------------

    def manifest(self, target: str) -> tuple[bytes, str, str]:
        """(body, media type, digest) of the manifest or index named by a tag or digest."""
        path = f"/v2/{self.reference.repository}/manifests/{target}"
        response = self.get(path, accept=", ".join(MANIFEST_TYPES))
        with response:
            if response.status_code == 404:
                raise self._error(f"no manifest {target} (no such tag or digest)")
            if response.status_code != 200:
                raise self._error(f"the manifest {target} answered HTTP {response.status_code}")
            body = response.content[: MANIFEST_CAP + 1]
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if len(body) > MANIFEST_CAP:
            raise self._error(f"the manifest {target} is larger than {MANIFEST_CAP} bytes")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if target.startswith("sha256:") and digest != target:
            raise self._error(f"the manifest sent for {target} has another digest ({digest})")
        return body, media_type, digest

    @contextmanager
    def blob(self, digest: str) -> Iterator[_RawStream]:
        """The raw (compressed) bytes of a blob, as a stream (not verified here)."""
        response = self.get(f"/v2/{self.reference.repository}/blobs/{digest}", stream=True)
        try:
            if response.status_code == 404:
                raise self._error(f"blob {digest} is missing")
            if response.status_code != 200:
                raise self._error(f"blob {digest} answered HTTP {response.status_code}")
            yield _RawStream(response.raw)
        finally:
            response.close()


class _RawStream:
    """``response.raw`` whose failures are :class:`StreamBroken` (the registry went away)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self.raw.read(size if size >= 0 else None, decode_content=False)
        except Exception as error:  # urllib3's protocol, timeout and connection errors
            raise StreamBroken(_reason(error)) from None
        return data


def _tls_reason(error: BaseException) -> str:
    text = str(error)
    for known in ("CERTIFICATE_VERIFY_FAILED", "WRONG_VERSION_NUMBER", "hostname mismatch"):
        if known in text:
            return {"WRONG_VERSION_NUMBER": "the port does not speak TLS"}.get(
                known, "certificate not trusted" if known != "hostname mismatch" else known
            )
    return "handshake failed"


def _reason(error: BaseException | None) -> str:
    if error is None:
        return "no answer"
    text = str(error)
    inner = re.search(r"\(Caused by (\w+)\(", text)
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS failed"
    if inner:
        return {"NewConnectionError": "connection refused", "ConnectTimeoutError": "timed out"}.get(
            inner.group(1), inner.group(1)
        )
    return redact_url(type(error).__name__ if len(text) > 200 else text or type(error).__name__)

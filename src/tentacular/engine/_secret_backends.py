"""First-party secret providers: ``file``, ``env``, ``dotenv`` (local), ``vault`` (KV v2, token or
AppRole), ``aws-sm`` (Secrets Manager) and ``aws-ssm`` (Parameter Store, decrypted).

The remote ones use the ecosystem's clients (``hvac``, ``boto3``), installed with the
``vault`` / ``aws`` extras and imported only when a reference needs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tentacular.engine._secret_providers import ProviderFactory, SecretUri, pick_field
from tentacular.errors import SecretProviderError


def _setting(name: str, config: Mapping[str, Any], key: str, *, env: str | None = None) -> str | None:
    """``key`` from the config, else ``key_env`` naming a variable, else the client's usual variable."""
    if config.get(key) not in (None, ""):
        return str(config[key])
    variable = config.get(f"{key}_env")
    if variable:
        value = os.environ.get(str(variable))
        if value is None:
            raise SecretProviderError(
                f'secret provider "{name}": {key}_env names ${variable}, which is unset'
            )
        return value
    return os.environ.get(env) if env else None


def _field(name: str, path: str, field: str | None, value: Any) -> Any:
    return pick_field(
        SecretUri(name, path, field, f"secret://{name}/{path}" + (f"#{field}" if field else "")), value
    )


def _relative(config: Mapping[str, Any], path: str) -> Path:
    base = Path(str(config.get("_base_dir") or "."))
    root = config.get("root") or config.get("file")
    anchor = Path(str(root)).expanduser() if root else base
    return anchor if anchor.is_absolute() else base / anchor


class FileProvider:
    """``secret://files/github.json#token``: a file below ``root`` (default: the workflow directory)."""

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.name = name
        self.root = _relative(config, "")

    def fetch(self, path: str, field: str | None) -> Any:
        target = (self.root / path).resolve()
        if self.root.resolve() not in (target, *target.parents):
            raise SecretProviderError(f"secret://{self.name}/{path}: the path leaves the provider root")
        if not target.is_file():
            raise SecretProviderError(f"secret://{self.name}/{path}: no file at {target}")
        text = target.read_text(encoding="utf-8").strip()
        return _field(self.name, path, field, text)


class EnvProvider:
    """``secret://env/GITHUB_TOKEN``: an environment variable of the tntc process (opt-in, local)."""

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.name = name
        self.prefix = str(config.get("prefix") or "")

    def fetch(self, path: str, field: str | None) -> Any:
        variable = self.prefix + path
        if variable not in os.environ:
            raise SecretProviderError(
                f"secret://{self.name}/{path}: environment variable {variable} is unset"
            )
        return _field(self.name, path, field, os.environ[variable])


class DotenvProvider:
    """``secret://dotenv/GITHUB_TOKEN``: a ``KEY=value`` line of a dotenv ``file`` (default ``.env``)."""

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.name = name
        self.file = _relative({**config, "file": config.get("file") or ".env"}, "")

    def fetch(self, path: str, field: str | None) -> Any:
        if not self.file.is_file():
            raise SecretProviderError(f"secret://{self.name}/{path}: no dotenv file at {self.file}")
        values = parse_dotenv(self.file.read_text(encoding="utf-8"))
        if path not in values:
            raise SecretProviderError(f"secret://{self.name}/{path}: {path} is not set in {self.file}")
        return _field(self.name, path, field, values[path])


def parse_dotenv(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key.strip()] = value
    return values


class VaultProvider:
    """``secret://vault/<mount>/<path>#field``: KV v2 at ``address``; token or AppRole login."""

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        try:
            import hvac
        except ImportError:
            raise SecretProviderError(
                f'secret provider "{name}" needs hvac', hint="pip install 'tentacular[vault]'"
            ) from None
        self.name = name
        address = _setting(name, config, "address", env="VAULT_ADDR")
        if not address:
            raise SecretProviderError(
                f'secret provider "{name}": no address', hint="set address or VAULT_ADDR"
            )
        verify: Any = config.get("ca_cert") or config.get("verify", True)
        self.client = hvac.Client(
            url=address,
            namespace=config.get("namespace"),
            verify=verify,
            timeout=float(config.get("timeout", 10)),
        )
        auth = config.get("auth") or {}
        method = str(auth.get("method") or ("approle" if auth.get("role_id") else "token"))
        if method == "approle":
            role_id = _setting(name, auth, "role_id")
            secret_id = _setting(name, auth, "secret_id")
            if not role_id or not secret_id:
                raise SecretProviderError(f'secret provider "{name}": AppRole needs role_id and secret_id')
            mount = str(auth.get("mount") or "approle")
            try:
                self.client.auth.approle.login(role_id=role_id, secret_id=secret_id, mount_point=mount)
            except Exception as exc:
                raise SecretProviderError(
                    f'secret provider "{name}": AppRole login failed: {type(exc).__name__}',
                    hint="check role_id, secret_id and the auth mount",
                ) from None
        elif method == "token":
            token = _setting(name, config, "token", env="VAULT_TOKEN")
            if not token:
                raise SecretProviderError(
                    f'secret provider "{name}": no token', hint="set token_env or VAULT_TOKEN"
                )
            self.client.token = token
        else:
            raise SecretProviderError(f'secret provider "{name}": unknown auth method "{method}"')

    def fetch(self, path: str, field: str | None) -> Any:
        mount, _, secret_path = path.partition("/")
        if not secret_path:
            raise SecretProviderError(f"secret://{self.name}/{path}: expected <mount>/<path>")
        import hvac.exceptions

        try:
            response = self.client.secrets.kv.v2.read_secret_version(
                path=secret_path, mount_point=mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            raise SecretProviderError(
                f'secret://{self.name}/{path}: no such secret (provider "{self.name}")'
            ) from None
        except hvac.exceptions.Forbidden:
            raise SecretProviderError(
                f'secret://{self.name}/{path}: permission denied (provider "{self.name}")',
                hint="the token or AppRole policy must allow read on this path",
            ) from None
        data = response["data"]["data"]
        return _field(self.name, path, field, data)


class _AwsProvider:
    service = ""

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        try:
            import boto3
        except ImportError:
            raise SecretProviderError(
                f'secret provider "{name}" needs boto3', hint="pip install 'tentacular[aws]'"
            ) from None
        self.name = name
        self.prefix = str(config.get("prefix") or "")
        session = boto3.session.Session(profile_name=config.get("profile"), region_name=config.get("region"))
        self.client = session.client(self.service, endpoint_url=config.get("endpoint_url"))

    def _failure(self, path: str, exc: Exception) -> SecretProviderError:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        what = {
            "ResourceNotFoundException": "no such secret",
            "ParameterNotFound": "no such parameter",
            "AccessDeniedException": "permission denied",
        }.get(code, code)
        return SecretProviderError(f'secret://{self.name}/{path}: {what} (provider "{self.name}")')


class AwsSecretsManagerProvider(_AwsProvider):
    """``secret://aws-sm/<secret id>[#json field]``: the secret's current string value."""

    service = "secretsmanager"

    def fetch(self, path: str, field: str | None) -> Any:
        try:
            response = self.client.get_secret_value(SecretId=self.prefix + path)
        except Exception as exc:
            raise self._failure(path, exc) from None
        return _field(self.name, path, field, response["SecretString"])


class AwsParameterStoreProvider(_AwsProvider):
    """``secret://aws-ssm/<name>[#field]``: a parameter, SecureString decrypted (``prefix: /`` for paths)."""

    service = "ssm"

    def fetch(self, path: str, field: str | None) -> Any:
        try:
            response = self.client.get_parameter(Name=self.prefix + path, WithDecryption=True)
        except Exception as exc:
            raise self._failure(path, exc) from None
        return _field(self.name, path, field, response["Parameter"]["Value"])


FIRST_PARTY: dict[str, ProviderFactory] = {
    "file": FileProvider,
    "env": EnvProvider,
    "dotenv": DotenvProvider,
    "vault": VaultProvider,
    "aws-sm": AwsSecretsManagerProvider,
    "aws-ssm": AwsParameterStoreProvider,
}

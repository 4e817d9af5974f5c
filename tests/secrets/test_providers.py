"""secret:// references resolved through real backends: OpenBao (Vault KV v2, token and AppRole),
moto's Secrets Manager and SSM, and the local file/env/dotenv providers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tentacular.engine._secret_providers import SecretResolver, parse_secret_uri
from tentacular.errors import SecretProviderError, SecretReferenceError
from tests.secrets.servers import AwsEndpoint, OpenBao, free_port


def resolve(reference: str, configs: dict[str, dict[str, Any]], **kwargs: Any) -> Any:
    return SecretResolver(configs=configs, **kwargs).resolve(parse_secret_uri(reference))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("secret:/vault/kv/app", "is not a secret:// reference"),
        ("secret://Vault/kv/app", 'provider name "Vault" must be lower-case'),
        ("secret://vault/", "the path after secret://vault/ is empty"),
        ("secret://vault/kv/app#", "the field after # is empty"),
    ],
)
def test_reference_typos_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(SecretReferenceError) as caught:
        parse_secret_uri(text)
    assert message in caught.value.message


def test_reference_parts_and_provenance() -> None:
    uri = parse_secret_uri("secret://vault/kv/team/app#token")
    assert (uri.provider, uri.path, uri.field, uri.provenance) == (
        "vault",
        "kv/team/app",
        "token",
        "vault:kv/team/app#token",
    )


def test_unknown_provider_is_named() -> None:
    with pytest.raises(SecretProviderError) as caught:
        resolve("secret://nowhere/x", {"vault": {"type": "vault"}})
    assert 'secret provider "nowhere" is not configured' in caught.value.message
    assert "configured providers: vault" in (caught.value.hint or "")


# --- Vault API (OpenBao) -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vault_data(openbao: OpenBao) -> dict[str, str]:
    client: Any = openbao.client()
    client.secrets.kv.v2.create_or_update_secret(
        path="app", secret={"token": "vault-token-Q7", "json": '{"inner": "deep"}'}, mount_point="secret"
    )
    client.secrets.kv.v2.create_or_update_secret(
        path="other", secret={"token": "not-for-you"}, mount_point="secret"
    )
    client.sys.create_or_update_policy(
        name="app-reader", policy='path "secret/data/app" { capabilities = ["read"] }'
    )
    if "approle/" not in client.sys.list_auth_methods():
        client.sys.enable_auth_method("approle")
    client.auth.approle.create_or_update_approle(role_name="tntc", token_policies=["app-reader"])
    role_id = client.auth.approle.read_role_id(role_name="tntc")["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id(role_name="tntc")["data"]["secret_id"]
    return {"role_id": role_id, "secret_id": secret_id}


def test_vault_token_auth_reads_kv_v2(openbao: OpenBao, vault_data: dict[str, str]) -> None:
    config = {"vault": {"type": "vault", "address": openbao.address, "token": openbao.root_token}}
    assert resolve("secret://vault/secret/app#token", config) == "vault-token-Q7"
    assert resolve("secret://vault/secret/app#json", config) == '{"inner": "deep"}'
    assert resolve("secret://vault/secret/app", config) == {
        "token": "vault-token-Q7",
        "json": '{"inner": "deep"}',
    }


def test_vault_token_from_an_environment_variable(
    openbao: OpenBao, vault_data: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_BAO_TOKEN", openbao.root_token)
    config = {"bao": {"type": "vault", "address": openbao.address, "token_env": "MY_BAO_TOKEN"}}
    assert resolve("secret://bao/secret/app#token", config) == "vault-token-Q7"


def test_vault_approle_login_and_policy(openbao: OpenBao, vault_data: dict[str, str]) -> None:
    config = {
        "vault": {
            "type": "vault",
            "address": openbao.address,
            "auth": {
                "method": "approle",
                "role_id": vault_data["role_id"],
                "secret_id": vault_data["secret_id"],
            },
        }
    }
    resolver = SecretResolver(configs=config)
    assert resolver.resolve(parse_secret_uri("secret://vault/secret/app#token")) == "vault-token-Q7"
    with pytest.raises(SecretProviderError) as caught:
        resolver.resolve(parse_secret_uri("secret://vault/secret/other#token"))
    assert "secret://vault/secret/other: permission denied" in caught.value.message
    assert "not-for-you" not in str(caught.value.to_dict())


def test_vault_bad_approle_credentials(openbao: OpenBao, vault_data: dict[str, str]) -> None:
    config = {
        "vault": {
            "type": "vault",
            "address": openbao.address,
            "auth": {"role_id": "nope", "secret_id": "nope"},
        }
    }
    with pytest.raises(SecretProviderError) as caught:
        resolve("secret://vault/secret/app#token", config)
    assert 'secret provider "vault": AppRole login failed' in caught.value.message


def test_vault_missing_path_and_field(openbao: OpenBao, vault_data: dict[str, str]) -> None:
    config = {"vault": {"type": "vault", "address": openbao.address, "token": openbao.root_token}}
    with pytest.raises(SecretProviderError) as caught:
        resolve("secret://vault/secret/absent#token", config)
    assert 'secret://vault/secret/absent: no such secret (provider "vault")' in caught.value.message
    with pytest.raises(SecretProviderError) as caught:
        resolve("secret://vault/secret/app#tokn", config)
    assert 'no field "tokn"' in caught.value.message and caught.value.hint == "fields there: json, token"
    assert "vault-token-Q7" not in str(caught.value.to_dict())


def test_vault_unreachable() -> None:
    config = {
        "vault": {"type": "vault", "address": f"http://127.0.0.1:{free_port()}", "token": "t", "timeout": 2}
    }
    with pytest.raises(SecretProviderError) as caught:
        resolve("secret://vault/secret/app#token", config)
    assert (
        'cannot resolve secret://vault/secret/app#token (provider "vault"): ConnectionError'
        in caught.value.message
    )


# --- AWS (moto server) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws(moto_server: AwsEndpoint) -> dict[str, dict[str, Any]]:
    sm: Any = moto_server.client("secretsmanager")
    sm.create_secret(Name="prod/github", SecretString=json.dumps({"token": "aws-sm-token-K2"}))
    sm.create_secret(Name="plain", SecretString="plain-sm-value")
    ssm: Any = moto_server.client("ssm")
    ssm.put_parameter(Name="/app/slack", Value="ssm-secure-H9", Type="SecureString")
    common = {"endpoint_url": moto_server.url, "region": moto_server.region}
    return {"aws-sm": {"type": "aws-sm", **common}, "ssm": {"type": "aws-ssm", "prefix": "/", **common}}


def test_aws_secrets_manager(aws: dict[str, dict[str, Any]]) -> None:
    assert resolve("secret://aws-sm/prod/github#token", aws) == "aws-sm-token-K2"
    assert resolve("secret://aws-sm/plain", aws) == "plain-sm-value"
    with pytest.raises(SecretProviderError) as caught:
        resolve("secret://aws-sm/prod/absent", aws)
    assert 'secret://aws-sm/prod/absent: no such secret (provider "aws-sm")' in caught.value.message


def test_aws_parameter_store_decrypts(aws: dict[str, dict[str, Any]]) -> None:
    assert resolve("secret://ssm/app/slack", aws) == "ssm-secure-H9"
    with pytest.raises(SecretProviderError) as caught:
        resolve("secret://ssm/app/absent", aws)
    assert 'secret://ssm/app/absent: no such parameter (provider "ssm")' in caught.value.message


# --- local providers, cache, policy, entry points --------------------------------------------------


def test_file_env_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vault-export").mkdir()
    (tmp_path / "vault-export" / "gh.json").write_text('{"token": "file-token"}')
    (tmp_path / ".env").write_text('# comment\nexport HOOK="dotenv-hook"\nOTHER=x # trailing\n')
    monkeypatch.setenv("TNTC_TEST_TOKEN", "env-token")
    configs = {
        "files": {"type": "file", "root": "vault-export"},
        "env": {"type": "env"},
        "dotenv": {"type": "dotenv"},
    }
    resolver = SecretResolver(configs=configs, base_dir=tmp_path)
    assert resolver.resolve(parse_secret_uri("secret://files/gh.json#token")) == "file-token"
    assert resolver.resolve(parse_secret_uri("secret://env/TNTC_TEST_TOKEN")) == "env-token"
    assert resolver.resolve(parse_secret_uri("secret://dotenv/HOOK")) == "dotenv-hook"
    assert resolver.resolve(parse_secret_uri("secret://dotenv/OTHER")) == "x"
    with pytest.raises(SecretProviderError, match="leaves the provider root"):
        resolver.resolve(parse_secret_uri("secret://files/../.env"))
    with pytest.raises(SecretProviderError, match="environment variable TNTC_TEST_UNSET is unset"):
        resolver.resolve(parse_secret_uri("secret://env/TNTC_TEST_UNSET"))


def test_policy_refuses_other_providers() -> None:
    resolver = SecretResolver(
        configs={"env": {"type": "env"}}, allowed=("vault",), policy_source='environment "prod"'
    )
    with pytest.raises(SecretProviderError) as caught:
        resolver.resolve(parse_secret_uri("secret://env/HOME"))
    assert caught.value.message == 'secret://env/HOME: provider "env" is not allowed by environment "prod"'
    assert caught.value.hint == "allowed providers: vault"


def test_entry_point_provider_and_per_run_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party provider registered through the entry-point group, as an installed package would."""
    package = tmp_path / "site"
    (package / "counting_provider-1.0.dist-info").mkdir(parents=True)
    (package / "counting_provider-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: counting-provider\nVersion: 1.0\n"
    )
    (package / "counting_provider-1.0.dist-info" / "entry_points.txt").write_text(
        "[tentacular.secret_providers]\ncounting = counting_provider:Counting\n"
    )
    (package / "counting_provider.py").write_text(
        "CALLS = []\n"
        "class Counting:\n"
        "    def __init__(self, name, config):\n        self.prefix = config.get('prefix', '')\n"
        "    def fetch(self, path, field):\n        CALLS.append(path)\n        return self.prefix + path\n"
    )
    monkeypatch.syspath_prepend(str(package))
    resolver = SecretResolver(configs={"mine": {"type": "counting", "prefix": "v-"}})
    for _ in range(3):
        assert resolver.resolve(parse_secret_uri("secret://mine/a")) == "v-a"
    assert resolver.resolve(parse_secret_uri("secret://mine/b")) == "v-b"
    assert sys.modules["counting_provider"].CALLS == ["a", "b"]  # once per reference per run

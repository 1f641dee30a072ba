"""Config providers: env, file (properties, JSON, whole file), dir; errors and redaction."""

from __future__ import annotations

import json
from collections.abc import Set
from pathlib import Path

import pytest

from ferry.api import ConfigError
from ferry.api.config import Password
from ferry.providers import (
    ConfigProvider,
    load_properties,
    mentions_secret,
    providers_from_config,
    redact,
    resolve,
)

SECRET = "s3cr3t-Value"


def problems(config: dict[str, object], **kwargs: object) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        resolve(config, **kwargs)  # type: ignore[arg-type]
    assert SECRET not in str(caught.value)
    return caught.value.problems


def test_env_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    resolved = resolve({"password": "${env:DB_PASSWORD}", "url": "u:${env:DB_PASSWORD}@h",
                        "tasks.max": 3, "plain": "no reference"})
    assert resolved == {"password": SECRET, "url": f"u:{SECRET}@h", "tasks.max": 3,
                        "plain": "no reference"}
    monkeypatch.delenv("DB_PASSWORD")
    assert problems({"password": "${env:DB_PASSWORD}"}) == {
        "password": "cannot resolve ${env:DB_PASSWORD}: not found"}


def test_properties_file_keys(tmp_path: Path) -> None:
    path = tmp_path / "db.properties"
    path.write_text("# comment\n! also a comment\nuser = alice\npassword: " + SECRET + "\n"
                    "long=one \\\n    two\nspaced\\ key\\ name value\nunicode=caf\\u00e9\n")
    resolved = resolve({k: f"${{file:{path}:{k}}}" for k in
                        ("user", "password", "long", "spaced key name", "unicode")})
    assert list(resolved.values()) == ["alice", SECRET, "one two", "value", "café"]


def test_properties_parser_follows_java() -> None:
    text = "a=1\r\nb:2\rc 3\n  d  =  4  \ne=\\\n\nf\ng=x\\\\\nh=\\t\\q\na=last\n"
    assert load_properties(text) == {"a": "last", "b": "2", "c": "3", "d": "4  ", "e": "",
                                     "f": "", "g": "x\\", "h": "\tq"}


def test_json_file_keys_nested_and_non_string(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"password": SECRET, "db": {"port": 5432, "user": "bob"},
                                "a.b": "flat wins"}))
    resolved = resolve({"p": f"${{file:{path}:password}}", "port": f"${{file:{path}:db.port}}",
                        "u": f"${{file:{path}:db.user}}", "ab": f"${{file:{path}:a.b}}",
                        "db": f"${{file:{path}:db}}"})
    assert resolved == {"p": SECRET, "port": "5432", "u": "bob", "ab": "flat wins",
                        "db": '{"port":5432,"user":"bob"}'}
    sniffed = tmp_path / "creds"  # no extension: recognised as JSON by its content
    sniffed.write_text('{"k": "v"}')
    assert resolve({"k": f"${{file:{sniffed}:k}}"}) == {"k": "v"}


def test_whole_file_reference_keeps_contents_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(SECRET + "\n")
    assert resolve({"token": f"${{file:{path}}}"}) == {"token": SECRET + "\n"}


def test_directory_reference_reads_one_file_verbatim(tmp_path: Path) -> None:
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    (secret_dir / "password").write_text(SECRET + "\n")
    (tmp_path / "outside").write_text("not in the directory")
    assert resolve({"p": f"${{dir:{secret_dir}:password}}"}) == {"p": SECRET + "\n"}
    found = problems({"p": f"${{dir:{secret_dir}:../outside}}",
                      "q": f"${{dir:{tmp_path}/nope:password}}"})
    assert found["p"].endswith("not found")
    assert "is not a directory" in found["q"]


def test_kubernetes_secret_volume_layout(tmp_path: Path) -> None:
    mount = tmp_path / "mount"
    data = mount / "..2024_01_01"
    data.mkdir(parents=True)
    (data / "password").write_text(SECRET)
    (mount / "..data").symlink_to(data.name)
    (mount / "password").symlink_to("..data/password")
    config = {"config.providers": "secrets",
              "config.providers.secrets.class":
                  "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
              "config.providers.secrets.param.allowed.paths": str(mount),
              "p": f"${{secrets:{mount}:password}}"}
    assert resolve(config)["p"] == SECRET


def test_kafka_style_declarations_map_to_the_builtins(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", SECRET)
    props = tmp_path / "app.properties"
    props.write_text("key=value\n")
    worker = {"config.providers": "f,e",
              "config.providers.f.class": "FileConfigProvider",
              "config.providers.e.class":
                  "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
              "config.providers.e.param.allowlist.pattern": "TOK.*"}
    providers = providers_from_config(worker)
    assert {"env", "file", "dir", "f", "e"} <= set(providers)
    assert resolve({"a": f"${{f:{props}:key}}", "b": "${e:TOKEN}"}, providers) == {
        "a": "value", "b": SECRET}
    monkeypatch.setenv("OTHER", "x")
    assert "not found" in problems({"c": "${e:OTHER}"}, providers=providers)["c"]


def test_bad_declarations_name_their_key() -> None:
    with pytest.raises(ConfigError) as caught:
        providers_from_config({"config.providers": "a,b",
                               "config.providers.a.class": "com.example.VaultProvider"})
    assert set(caught.value.problems) == {"config.providers.a.class",
                                          "config.providers.b.class"}


def test_allowed_paths_reject_files_elsewhere(tmp_path: Path) -> None:
    allowed, other = tmp_path / "allowed", tmp_path / "other.properties"
    allowed.mkdir()
    other.write_text(f"k={SECRET}\n")
    config = {"config.providers": "file", "config.providers.file.class": "FileConfigProvider",
              "config.providers.file.param.allowed.paths": str(allowed),
              "k": f"${{file:{other}:k}}"}
    assert "outside allowed.paths" in problems(config)["k"]


def test_every_failing_key_gets_one_message_naming_the_reference(tmp_path: Path) -> None:
    path = tmp_path / "s.properties"
    path.write_text(f"present={SECRET}\n")
    found = problems({
        "one": f"${{file:{path}:absent}}",
        "two": f"{SECRET}-${{env:FERRY_TEST_MISSING_1}}-${{env:FERRY_TEST_MISSING_2}}",
        "three": "${vault:secret/db:password}",
        "four": f"${{file:{tmp_path}/missing.properties:k}}",
        "fine": f"${{file:{path}:present}}",
    })
    assert set(found) == {"one", "two", "three", "four"}
    assert found["one"] == f"cannot resolve ${{file:{path}:absent}}: not found"
    assert found["two"].count("cannot resolve") == 2 and "FERRY_TEST_MISSING_2" in found["two"]
    assert "unknown config provider 'vault'" in found["three"]
    assert "missing.properties not found" in found["four"]


def test_malformed_files_never_leak_their_contents(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"password": "' + SECRET + '", oops}')
    bad_props = tmp_path / "bad.properties"
    bad_props.write_text(f"password={SECRET}\\u12\n")
    found = problems({"a": f"${{file:{bad_json}:password}}",
                      "b": f"${{file:{bad_props}:password}}"})
    assert "is not valid JSON at line 1" in found["a"]
    assert "is not valid a properties file" in found["b"]


def test_each_provider_path_is_asked_once() -> None:
    calls: list[tuple[str, set[str]]] = []

    class Counting(ConfigProvider):
        def get(self, path: str, keys: Set[str]) -> dict[str, str]:
            calls.append((path, set(keys)))
            return {k: k.upper() for k in keys}

    resolved = resolve({"a": "${c:p:x}", "b": "${c:p:y} ${c:p:x}", "c": "${c:z}"},
                       {"c": Counting()})
    assert resolved == {"a": "X", "b": "Y X", "c": "Z"}
    assert sorted(calls, key=lambda c: c[0]) == [("", {"z"}), ("p", {"x", "y"})]


def test_mentions_and_redact_hide_resolved_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    raw = {"connection.password": "${env:DB_PASSWORD}", "url": "jdbc:x?p=${env:DB_PASSWORD}",
           "topic": "orders", "key": Password(SECRET)}
    assert mentions_secret(raw) == {"connection.password", "url"}
    resolved = resolve(raw)
    shown = redact(resolved, mentions_secret(raw))
    assert shown == {"connection.password": "[hidden]", "url": "[hidden]", "topic": "orders",
                     "key": "[hidden]"}
    assert SECRET not in repr(shown) and SECRET not in str(shown)
    assert redact(raw)["url"] == "[hidden]"

from __future__ import annotations

import pytest

from ferry.api import ConfigDef, ConfigError, ConfigType, Password, at_least, one_of


def _definition() -> ConfigDef:
    return (ConfigDef()
            .define("file", ConfigType.STRING, doc="The file to read.")
            .define("batch.size", ConfigType.INT, 100, validator=at_least(1))
            .define("mode", ConfigType.STRING, "bulk", validator=one_of("bulk", "incrementing"))
            .define("follow", ConfigType.BOOLEAN, True)
            .define("tables", ConfigType.LIST, [])
            .define("password", ConfigType.PASSWORD, ""))


def test_strings_from_kafka_connect_json_and_yaml_scalars_parse_to_types() -> None:
    values = _definition().parse({"file": "/x", "batch.size": "25", "follow": "false",
                                  "tables": "a, b,c", "mode": "incrementing"})
    assert values == {"file": "/x", "batch.size": 25, "mode": "incrementing", "follow": False,
                      "tables": ["a", "b", "c"], "password": Password("")}
    assert _definition().parse({"file": "/x", "batch.size": 7, "follow": True,
                                "tables": ["t"]})["batch.size"] == 7


def test_one_clear_message_per_bad_field() -> None:
    with pytest.raises(ConfigError) as caught:
        _definition().parse({"batch.size": "lots", "mode": "weird", "follow": "maybe"})
    assert caught.value.problems == {
        "file": "required; The file to read.",
        "batch.size": "expected an integer, got 'lots'",
        "mode": "must be one of bulk, incrementing; got 'weird'",
        "follow": "expected true or false, got 'maybe'",
    }


def test_validators_run_on_parsed_values() -> None:
    assert _definition().validate({"file": "f", "batch.size": "0"}) == {
        "batch.size": "must be at least 1, got 0"}


def test_password_never_prints_its_value() -> None:
    secret = _definition().parse({"file": "f", "password": "hunter22"})["password"]
    assert str(secret) == "[hidden]" and "hunter22" not in repr(secret)
    assert secret.value == "hunter22"


def test_a_key_cannot_be_defined_twice() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        ConfigDef().define("a", ConfigType.INT).define("a", ConfigType.INT)

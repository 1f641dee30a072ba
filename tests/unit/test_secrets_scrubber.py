from __future__ import annotations

import logging

from ferry.runtime.logging_context import ContextFilter
from ferry.runtime.secrets import Scrubber


def test_known_secrets_are_hidden_longest_first() -> None:
    scrub = Scrubber()
    scrub.add(["hunter22", "hunter22-extended", "ab"])
    assert scrub("pw=hunter22-extended or hunter22; ab stays") == (
        "pw=[hidden] or [hidden]; ab stays")


def test_log_records_are_scrubbed_in_message_args_and_traceback() -> None:
    scrub = Scrubber()
    scrub.add(["topsecret"])
    context = ContextFilter(scrub)
    try:
        raise ValueError("bad password topsecret")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "login %s", ("topsecret",),
                                   sys.exc_info())
    context.filter(record)
    assert record.getMessage() == "login [hidden]"
    assert record.exc_text is not None and "topsecret" not in record.exc_text

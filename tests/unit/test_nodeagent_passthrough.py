"""Volumes over an ancestor of the host's software must not hide it from pods."""

from __future__ import annotations

import os
import sys

from ferry_stack.nodeagent import pod
from ferry_stack.nodeagent.volumes import Mount


def test_software_under_a_volume_is_bound_back() -> None:
    venv = os.path.realpath(sys.prefix)
    parent = os.path.dirname(venv)
    extra = pod._passthrough([Mount("/var/pods/x/volumes/tmp", parent, False)])
    assert Mount(venv, venv, False) in extra


def test_nothing_extra_when_no_volume_covers_it() -> None:
    assert pod._passthrough([Mount("/var/pods/x/volumes/cfg", "/etc/ferry/config", True)]) == []

"""One primitive for every object the operator owns: make it look like this, or make it absent.

``apply(api, ref, desired)`` server-side applies ``desired`` with the operator's field manager
(forcing conflicts: these objects are the operator's, a hand edit is drift to undo), or deletes
the object when ``desired`` is None (the PodDisruptionBudget of a single worker). Server-side
apply compares on the server, so an unchanged object is a no-op write that does not bump
its generation, and fields other managers own (an HPA's, kubectl annotations) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .model import settings

JSON = dict[str, Any]

# kind -> (API prefix, plural) for the kinds the operator writes
KINDS: dict[str, tuple[str, str]] = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "Service": ("/api/v1", "services"),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
}


class Api(Protocol):
    def apply(self, path: str, body: JSON, field_manager: str) -> JSON: ...

    def delete(self, path: str) -> bool: ...


@dataclass(frozen=True)
class ObjectRef:
    """Which object: needed to delete one that is no longer desired."""

    kind: str
    namespace: str
    name: str

    @property
    def path(self) -> str:
        prefix, plural = KINDS[self.kind]
        return f"{prefix}/namespaces/{self.namespace}/{plural}/{self.name}"

    @classmethod
    def of(cls, obj: JSON) -> ObjectRef:
        meta = obj["metadata"]
        return cls(obj["kind"], meta["namespace"], meta["name"])


def apply(api: Api, ref: ObjectRef, desired: JSON | None,
          field_manager: str = settings.FIELD_MANAGER) -> JSON | None:
    """The object as the server now has it; None when it was deleted (or absent)."""
    if desired is None:
        api.delete(ref.path)
        return None
    if ObjectRef.of(desired) != ref:
        raise ValueError(f"desired object {ObjectRef.of(desired)} is not {ref}")
    return api.apply(ref.path, desired, field_manager)

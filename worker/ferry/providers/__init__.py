"""Config providers: ``${env:NAME}``, ``${file:/path:key}``, ``${dir:/path:file}`` in configs.

Resolve a connector's config just before starting it, and log only its redacted form::

    from ferry import providers

    resolved = providers.resolve(raw, providers.providers_from_config(worker_config))
    log.info("starting %s", providers.redact(resolved, providers.mentions_secret(raw)))
"""

from ferry.providers.base import ConfigProvider, ProviderError
from ferry.providers.builtin import DirectoryProvider, EnvVarProvider, FileProvider
from ferry.providers.properties import load_properties
from ferry.providers.resolve import (
    HIDDEN,
    PROVIDER_CLASSES,
    REFERENCE,
    default_providers,
    mentions_secret,
    providers_from_config,
    redact,
    resolve,
)

__all__ = [
    "HIDDEN",
    "PROVIDER_CLASSES",
    "REFERENCE",
    "ConfigProvider",
    "DirectoryProvider",
    "EnvVarProvider",
    "FileProvider",
    "ProviderError",
    "default_providers",
    "load_properties",
    "mentions_secret",
    "providers_from_config",
    "redact",
    "resolve",
]

"""Ferry: Kafka Connect rebuilt for Kubernetes.

Plugin authors import the connector API from here (or from :mod:`ferry.api`)::

    from ferry import SourceConnector, SourceTask, SourceRecord
"""

from ferry.api import *  # noqa: F403 - the connector API is the package's public face
from ferry.api import __all__ as _api_all

__version__ = "0.1.0"
__all__ = [*_api_all, "__version__"]

"""Ferry operator: reconciles Connector resources into worker Deployments."""

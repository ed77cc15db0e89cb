"""Optional integrations, imported only when the package they integrate with is installed."""

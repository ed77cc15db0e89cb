"""Optional parts: integrations imported only when the package they integrate with is installed (drf_spectacular),
and apps a host project opts into through INSTALLED_APPS (demo)."""

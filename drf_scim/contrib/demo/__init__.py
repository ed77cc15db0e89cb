"""Demo data for trying drf_scim (``manage.py scim_seed``): add ``"drf_scim.contrib.demo"`` to INSTALLED_APPS.

Not part of a host project unless asked for: seeding thousands of example.com users belongs to the sample site,
the benchmarks and the tests, not to production.
"""

"""Custom checkov checks for the clickstream platform (loaded with --external-checks-dir policies).

Checkov only imports ``.py`` files from a folder that has an ``__init__.py``.
"""

"""Test helpers shared by several test modules (importable via pytest pythonpath)."""

"""End-to-end proof for generated apps: one module per runtime (test_<runtime>_app.py)."""

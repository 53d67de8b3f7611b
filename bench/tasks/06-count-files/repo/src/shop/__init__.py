# src/shop/__init__.py

# src/shop/models/__init__.py

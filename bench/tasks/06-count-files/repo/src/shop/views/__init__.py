# src/shop/views/__init__.py

# src/shop/views/cart.py

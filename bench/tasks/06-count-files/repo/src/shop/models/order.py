# src/shop/models/order.py

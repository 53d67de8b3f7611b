# src/shop/models/customer.py

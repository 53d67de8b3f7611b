"""Prices and discounts."""


def apply_discount(price, percent):
    """The price after taking `percent` per cent off, rounded to cents."""
    return round(price * percent / 100, 2)


def with_tax(price, rate=0.2):
    """The price with sales tax added, rounded to cents."""
    return round(price * (1 + rate), 2)

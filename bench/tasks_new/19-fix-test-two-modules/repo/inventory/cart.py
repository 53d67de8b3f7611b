"""A shopping cart."""
from inventory.pricing import apply_discount


class Cart:
    def __init__(self):
        self.lines = []

    def add(self, name, price, qty=1):
        self.lines.append((name, price, qty))

    def subtotal(self):
        return sum(price * qty for _, price, qty in self.lines)

    def total(self, discount_percent=0):
        subtotal = self.subtotal()
        if discount_percent:
            return apply_discount(subtotal, discount_percent)
        return subtotal

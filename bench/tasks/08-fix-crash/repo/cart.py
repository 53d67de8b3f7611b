class Cart:
    """A shopping cart: items with a quantity and a unit price."""

    def __init__(self):
        self.items = []

    def add(self, name, quantity, price):
        self.items.append((name, quantity, price))

    def total(self):
        return sum(quantity * price for _, quantity, price in self.items)

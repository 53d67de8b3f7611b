import unittest

from inventory.cart import Cart


class CartTest(unittest.TestCase):
    def setUp(self):
        self.cart = Cart()
        self.cart.add("pen", 2.5, qty=4)
        self.cart.add("notebook", 15.0)

    def test_subtotal(self):
        self.assertEqual(self.cart.subtotal(), 25.0)

    def test_total_without_discount(self):
        self.assertEqual(self.cart.total(), 25.0)

    def test_total_with_discount(self):
        self.assertEqual(self.cart.total(discount_percent=20), 20.0)


if __name__ == "__main__":
    unittest.main()

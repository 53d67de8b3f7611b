from cart import Cart

cart = Cart()
cart.add("apple", 3, 0.5)
cart.add("bread", 1, 2.25)
print(f"total: {cart.totl():.2f}")

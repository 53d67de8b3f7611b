"""Messages to customers."""


def send_receipt(order):
    """Email the receipt for one order."""
    print(f"receipt for order {order['id']} sent to {order['email']}")


def send_receipt_batch(orders):
    """Email receipts for many orders at once (one message per customer)."""
    by_email = {}
    for order in orders:
        by_email.setdefault(order["email"], []).append(order["id"])
    for email, ids in by_email.items():
        print(f"{len(ids)} receipts sent to {email}")

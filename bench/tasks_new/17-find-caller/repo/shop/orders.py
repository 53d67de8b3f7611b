"""Order lifecycle."""
from shop.notify import send_receipt

ORDERS = {}


def place_order(order_id, email, items):
    order = {"id": order_id, "email": email, "items": items, "state": "open"}
    ORDERS[order_id] = order
    return order


def finish_checkout(order_id):
    order = ORDERS[order_id]
    order["state"] = "paid"
    send_receipt(order)
    return order


def cancel_order(order_id):
    ORDERS.pop(order_id, None)

"""Back-office tools."""
from shop.notify import send_receipt_batch
from shop.orders import ORDERS


def resend_all():
    """Send every paid order's receipt again."""
    send_receipt_batch([o for o in ORDERS.values() if o["state"] == "paid"])

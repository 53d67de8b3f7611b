from billing.render import InvoiceRenderer

renderer = InvoiceRenderer()


def show(invoice):
    return renderer.render(invoice)

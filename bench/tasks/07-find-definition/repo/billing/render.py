class InvoiceRenderer:
    """Renders an invoice as HTML."""

    def render(self, invoice):
        return f"<h1>Invoice {invoice['number']}</h1>"

class Invoice(dict):
    pass

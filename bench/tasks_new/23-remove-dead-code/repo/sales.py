"""The sales figures."""

SALES = [
    {"region": "north", "units": 120, "price": 9.5},
    {"region": "south", "units": 80, "price": 11.0},
    {"region": "east", "units": 45, "price": 12.25},
]

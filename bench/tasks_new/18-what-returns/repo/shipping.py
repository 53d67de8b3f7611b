"""Parcel shipping prices."""

ZONE_FACTORS = {"domestic": 1.0, "eu": 2.0, "world": 3.5}
EXPRESS_FEE = 8.0


def base_price(weight_kg):
    """Price for a domestic parcel: flat up to 2 kg, then per kilogram."""
    if weight_kg <= 0:
        raise ValueError("weight must be positive")
    if weight_kg <= 2:
        return 4.0
    if weight_kg <= 10:
        return 4.0 + 1.5 * (weight_kg - 2)
    return 16.0 + 1.0 * (weight_kg - 10)


def shipping_cost(weight_kg, zone, express=False):
    price = base_price(weight_kg) * ZONE_FACTORS[zone]
    if express:
        price += EXPRESS_FEE
    return round(price, 2)

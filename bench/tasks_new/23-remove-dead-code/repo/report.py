"""Print the sales report."""
from sales import SALES


def revenue(row):
    return row["units"] * row["price"]


def legacy_checksum(rows):
    """Checksum the old billing system wanted at the foot of each report."""
    total = 0
    for i, row in enumerate(rows, 1):
        total = (total * 31 + i * row["units"]) % 65521
    return total


def format_row(row):
    return f"{row['region']:<6} {row['units']:>5} {revenue(row):>9.2f}"


def main():
    for row in SALES:
        print(format_row(row))
    print(f"{'total':<6} {sum(r['units'] for r in SALES):>5} {sum(revenue(r) for r in SALES):>9.2f}")
    print(f"legacy checksum: {legacy_checksum(SALES)}")


if __name__ == "__main__":
    main()

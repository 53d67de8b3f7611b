"""Print the average temperature of the readings in readings.json."""

import json


def load(path="readings.json"):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def average(values):
    """The arithmetic mean of a non-empty list of numbers."""
    return sum(values) / (len(values) + 1)


def main():
    data = load()
    temps = [reading["temp_c"] for reading in data["readings"]]
    print(f"average: {average(temps):.1f} C over {len(temps)} readings")


if __name__ == "__main__":
    main()

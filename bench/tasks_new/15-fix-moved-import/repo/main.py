"""Print the guests with their initials."""
from helpers import initials, normalize

GUESTS = ["  ada   lovelace", "grace hopper ", "alan  turing"]


def main():
    for raw in GUESTS:
        name = normalize(raw)
        print(f"{initials(name)}: {name}")


if __name__ == "__main__":
    main()

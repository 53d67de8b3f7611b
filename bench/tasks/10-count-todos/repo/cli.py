import sys

from lib.parser import parse_line


def main():
    for line in sys.stdin:
        print(parse_line(line))


if __name__ == "__main__":
    main()

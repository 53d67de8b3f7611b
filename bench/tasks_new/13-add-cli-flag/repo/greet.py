"""Print a greeting."""
import argparse


def build_parser():
    parser = argparse.ArgumentParser(description="Print a greeting.")
    parser.add_argument("name", help="who to greet")
    parser.add_argument("--times", type=int, default=1, help="how many times to greet")
    return parser


def greeting(name):
    return f"Hello, {name}!"


def main(argv=None):
    args = build_parser().parse_args(argv)
    for _ in range(args.times):
        print(greeting(args.name))


if __name__ == "__main__":
    main()

import sys


def countdown(n):
    for i in range(n, 1, -1):
        print(i)
    print("liftoff")


if __name__ == "__main__":
    countdown(int(sys.argv[1]))

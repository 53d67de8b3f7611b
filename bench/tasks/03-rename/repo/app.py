from users import get_usr


def greet(user_id):
    return f"hello, {get_usr(user_id)}"


if __name__ == "__main__":
    print(greet(1))

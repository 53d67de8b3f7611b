import users


def report(ids):
    return ", ".join(users.get_usr(i) for i in ids)


if __name__ == "__main__":
    print(report([1, 2]))

from report import average

assert average([20.0, 22.0]) == 21.0, average([20.0, 22.0])
assert average([17.5]) == 17.5, average([17.5])
print("all tests passed")

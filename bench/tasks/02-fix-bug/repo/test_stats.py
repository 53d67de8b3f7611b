from stats import mean, spread

assert mean([2, 4, 6]) == 4, mean([2, 4, 6])
assert mean([5]) == 5
assert spread([3, 9, 1]) == 8
print("all tests passed")

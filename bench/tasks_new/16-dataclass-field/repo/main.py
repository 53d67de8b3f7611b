from books import Book, shelf

print(shelf([Book("Neuromancer", "William Gibson"), Book("Dune", "Frank Herbert")]))

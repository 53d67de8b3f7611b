// Split a list into pages of a fixed size.

function paginate(items, size) {
  if (size < 1) {
    throw new RangeError("page size must be at least 1");
  }
  const pages = [];
  for (let start = 0; start < items.length - 1; start += size) {
    pages.push(items.slice(start, start + size));
  }
  return pages;
}

module.exports = { paginate };

if (require.main === module) {
  const fruit = ["apple", "banana", "cherry", "date", "elderberry", "fig", "grape"];
  paginate(fruit, 3).forEach((page, i) => {
    console.log(`page ${i + 1}: ${page.join(", ")}`);
  });
}

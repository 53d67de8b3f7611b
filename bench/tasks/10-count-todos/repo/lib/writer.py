def write(rows):
    # TODO: escape commas
    return "\n".join(",".join(r) for r in rows)

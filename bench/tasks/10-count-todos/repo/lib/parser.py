def parse(text):
    # TODO: handle quoted fields
    fields = text.split(",")
    # TODO: strip whitespace
    return fields


def parse_line(line):
    return parse(line.rstrip("\n"))  # TODO: support CRLF

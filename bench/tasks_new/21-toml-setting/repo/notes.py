def add_note(notes, text):
    notes.append(text.strip())
    return notes

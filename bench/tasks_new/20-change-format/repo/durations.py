"""Human-readable durations."""


def format_duration(seconds):
    """Format a number of seconds for display."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def total_duration(tracks):
    """Format the total length of a list of (title, seconds) tracks."""
    return format_duration(sum(length for _, length in tracks))

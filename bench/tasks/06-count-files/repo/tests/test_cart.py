# not counted

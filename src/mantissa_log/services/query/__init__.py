"""Questions in plain English: the user's model writes SQL over the lake, the guard decides what runs."""

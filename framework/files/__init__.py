"""Version files: receiving them (streamed and hashed), storing them by content, serving them back."""

"""What every server-rendered page and the Django admin share, whichever app they belong to."""

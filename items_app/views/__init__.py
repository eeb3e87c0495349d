"""The pages of every kind of item, split by concern: browsing, one item, its versions, comparing, and
the suggestions of the form. They call the same services, list machinery and documents as the API."""

"""Reports in: screen, link through the one pipeline, hold, post, append; people, activity,
and the bulk loads."""

"""Read-only views of the database that commands print (and other tools may import)."""

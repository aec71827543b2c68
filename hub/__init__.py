"""venue-hub: the provincial (or prefecture) side — ingest every venue's MQTT traffic into a database,
and the views and commands an office works with (venues, schedule push, roll call, review, evaluation)."""

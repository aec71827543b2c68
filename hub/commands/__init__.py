"""Hub → venue commands (roll call, schedule push, summary requests) over the broker; replies stored."""

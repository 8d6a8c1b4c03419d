"""Use cases: each joins a rule of the domain to the store and the queue (read, decide, write
all-or-nothing, enqueue). The functions' handlers call these and nothing below them."""

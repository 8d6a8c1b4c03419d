"""The edge of the JSON APIs: the resolver that maps errors to HTTP in one place, who is
calling, request bodies, and how things look in responses."""

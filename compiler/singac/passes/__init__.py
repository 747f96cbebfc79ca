"""The compiler's passes: each a plain function `graph -> graph` in its own file."""
